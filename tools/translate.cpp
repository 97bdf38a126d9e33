// seqzoo-translate (work in progress: filled in as the library grows).
#include "tools/common/cli.h"

int main(int argc, char** argv) {
  return seqzoo::run_main("seqzoo-translate", [&] {
    cxxopts::Options options("seqzoo-translate", "seqzoo translate");
    seqzoo::add_runtime_options(options);
    cxxopts::ParseResult args;
    if (!seqzoo::parse_args(options, argc, argv, args)) return 0;
    return 0;
  });
}
