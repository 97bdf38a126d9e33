// The Catch2 test runner (tests mirror the source tree: tests/data, tests/models, ...).
// It tunes the process as the tools do (tools/app/runtime.h: OMP_WAIT_POLICY=passive and
// OPENBLAS_THREAD_TIMEOUT=4, then a re-exec): ctest runs two test processes on two cores, and
// spinning OpenMP and OpenBLAS workers made each of them several times slower.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tools/app/runtime.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  return Catch::Session().run(argc, argv);
}
