// seqzoo-train (work in progress: filled in as the library grows).
#include "tools/common/cli.h"

int main(int argc, char** argv) {
  return seqzoo::run_main("seqzoo-train", [&] {
    cxxopts::Options options("seqzoo-train", "seqzoo train");
    seqzoo::add_runtime_options(options);
    cxxopts::ParseResult args;
    if (!seqzoo::parse_args(options, argc, argv, args)) return 0;
    return 0;
  });
}
