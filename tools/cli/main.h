#pragma once
// What every main shares: one catch for all errors, with exit codes, and argument parsing.
#include <cxxopts.hpp>
#include <functional>
#include <stdexcept>

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

}  // namespace seqzoo
