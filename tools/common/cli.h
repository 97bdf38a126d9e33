#pragma once
// What the three mains share: error handling with exit codes, device/thread setup, option groups.
#include <torch/torch.h>

#include <cxxopts.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/config.h"

namespace seqzoo {

// A command-line mistake (bad flag value, missing required flag): exit code 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// First call of every main, before LibTorch spawns a thread. On Linux, when OMP_WAIT_POLICY or
// OPENBLAS_THREAD_TIMEOUT is unset, sets it ("passive"; 4, i.e. 2^4 cycles) and re-executes the
// program (libgomp and OpenBLAS read them only when they load): spinning OpenMP or OpenBLAS
// workers otherwise steal the core the main thread needs between parallel regions (measured on 2
// cores: transformer-small training 1,431 -> 2,275 target tok/s; beam-5 decoding 43.7 -> 54.1
// sentences/s). Also raises glibc's mmap/trim thresholds so activation buffers are reused instead
// of mapped and unmapped every step. When OpenBLAS chose pre-AVX2 kernels on a CPU with AVX2+FMA
// (hypervisors that hide the CPU model), sets OPENBLAS_CORETYPE (SkylakeX or Haswell) too: a
// 1024^2 GEMM on such a 2-core Xeon ran at 50 GFLOP/s instead of 210. Set any of these variables
// yourself to keep your own value; SEQZOO_NO_REEXEC=1 skips the re-exec only.
void tune_cpu_runtime(int argc, char** argv);

// Runs body; prints "<program>: error: <message>" (one line) and returns 2 for usage errors
// (UsageError, cxxopts parse errors), 1 for everything else. Nothing escapes.
int run_main(const char* program, const std::function<int()>& body);

// --device cpu|cuda|auto -> torch::Device (UsageError for cuda without CUDA);
// threads 0 = all cores. Sets LibTorch's intra-op threads.
torch::Device setup_runtime(const std::string& device, int64_t threads);

// Adds --device and --threads to an option set.
void add_runtime_options(cxxopts::Options& options);
// Parses argv; --help prints the help and returns false (the caller exits 0).
bool parse_args(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& out);

// Number of hardware cores available to this process.
int64_t hardware_threads();

}  // namespace seqzoo
