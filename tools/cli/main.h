#pragma once
// What every main shares: one catch for all errors, with exit codes, and argument parsing.
#include <cxxopts.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqzoo {

// A command-line mistake (bad flag value, missing required flag): exit code 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Runs body; prints "<program>: error: <message>" (one line) and returns 2 for usage errors
// (UsageError, cxxopts parse errors), 1 for everything else. Nothing escapes.
int run_main(const char* program, const std::function<int()>& body);

// Parses argv; --help prints the help and returns false (the caller exits 0). Unmatched
// arguments are a UsageError.
bool parse_args(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out);

// The values of a repeatable multi-value flag in command-line order: "--set a=1 b=2 --run R --set a=3"
// gives {a=1, b=2, a=3} (cxxopts keeps the first value of each --set apart from the ones after it, so
// their order is lost there). `--flag=value` counts too; values run until the next argument that
// starts with '-'.
std::vector<std::string> multi_value_flag(int argc, char** argv, const std::string& flag);

}  // namespace seqzoo
