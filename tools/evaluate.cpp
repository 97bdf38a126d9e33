// seqzoo-evaluate (work in progress: filled in as the library grows).
#include "tools/common/cli.h"

int main(int argc, char** argv) {
  return seqzoo::run_main("seqzoo-evaluate", [&] {
    cxxopts::Options options("seqzoo-evaluate", "seqzoo evaluate");
    seqzoo::add_runtime_options(options);
    cxxopts::ParseResult args;
    if (!seqzoo::parse_args(options, argc, argv, args)) return 0;
    return 0;
  });
}
