#include "tools/cli/main.h"

#include <torch/torch.h>

#include <iostream>

#include "data/common/text.h"

namespace seqzoo {

int run_main(const char* program, const std::function<int()>& body) {
  try {
    const int code = body();
    // Everything written to stdout must have arrived: a full disk (or a closed file) is an error.
    std::cout.flush();
    if (!std::cout) throw std::runtime_error("cannot write to standard output (disk full or closed?)");
    return code;
  } catch (const UsageError& e) {
    std::cerr << program << ": error: " << one_line(e.what()) << " (see --help)\n";
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << program << ": error: " << one_line(e.what()) << " (see --help)\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << program << ": error: " << one_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << one_line(e.what()) << "\n";
    return 1;
  } catch (...) {
    std::cerr << program << ": error: unknown exception\n";
    return 1;
  }
}

namespace {

// cxxopts says "Argument 'x' failed to parse" without the option: find the flag that took the
// value in argv ("--alpha x" or "--alpha=x") and name it.
std::string name_bad_value(const std::string& message, int argc, char** argv) {
  const std::string lquote = "\xE2\x80\x98", rquote = "\xE2\x80\x99";
  size_t a = message.find(lquote), b = message.rfind(rquote);
  size_t open = lquote.size();
  if (a == std::string::npos || b == std::string::npos || b < a) {
    a = message.find('\'');
    b = message.rfind('\'');
    open = 1;
    if (a == std::string::npos || b <= a) return message;
  }
  const std::string value = message.substr(a + open, b - a - open);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    if (arg.rfind("-", 0) == 0 && eq != std::string::npos && arg.substr(eq + 1) == value)
      return arg.substr(0, eq) + ": '" + value + "' is not a valid value";
    if (arg == value && i > 1 && argv[i - 1][0] == '-')
      return std::string(argv[i - 1]) + ": '" + value + "' is not a valid value";
    // A list value ("--weights 1,x"): the flag before the list that holds the bad element.
    if (i > 1 && argv[i - 1][0] == '-' && arg.find(',') != std::string::npos &&
        ("," + arg + ",").find("," + value + ",") != std::string::npos)
      return std::string(argv[i - 1]) + ": '" + value + "' is not a valid value";
  }
  return message;
}

}  // namespace

bool parse_args(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out) {
  options.add_options()("h,help", "print this help");
  try {
    out = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    throw UsageError(name_bad_value(e.what(), argc, argv));
  }
  if (out.count("help")) {
    std::cout << options.help() << std::endl;
    return false;
  }
  if (!out.unmatched().empty()) throw UsageError("unexpected argument '" + out.unmatched().front() + "'");
  return true;
}

std::vector<std::string> multi_value_flag(int argc, char** argv, const std::string& flag) {
  std::vector<std::string> values;
  const std::string with_value = flag + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind(with_value, 0) == 0) {
      values.push_back(arg.substr(with_value.size()));
    } else if (arg == flag) {
      while (i + 1 < argc && argv[i + 1][0] != '-') values.emplace_back(argv[++i]);
    } else if (arg == "--") {
      break;
    }
  }
  return values;
}

}  // namespace seqzoo
