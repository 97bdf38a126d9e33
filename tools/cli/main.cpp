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

bool parse_args(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out) {
  options.add_options()("h,help", "print this help");
  out = options.parse(argc, argv);
  if (out.count("help")) {
    std::cout << options.help() << std::endl;
    return false;
  }
  if (!out.unmatched().empty()) throw UsageError("unexpected argument '" + out.unmatched().front() + "'");
  return true;
}

}  // namespace seqzoo
