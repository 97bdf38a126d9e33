#pragma once
// Runtime tuning of the process: OpenMP/OpenBLAS/glibc settings (with a re-exec), the device and
// the intra-op threads.
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace seqzoo {

// First call of every main, before LibTorch spawns a thread. On Linux, when OMP_WAIT_POLICY or
// OPENBLAS_THREAD_TIMEOUT is unset, sets it ("passive"; 4, i.e. 2^4 cycles) and re-executes the
// program (libgomp and OpenBLAS read them only when they load; the tools' launcher,
// tools/launcher/launcher.cpp, sets them before the program starts, so no re-exec then): spinning OpenMP or OpenBLAS
// workers otherwise steal the core the main thread needs between parallel regions. Also raises
// glibc's mmap/trim thresholds so activation buffers are reused instead of mapped and unmapped
// every step. When OpenBLAS chose pre-AVX2 kernels on a CPU with AVX2+FMA (hypervisors that hide
// the CPU model), sets OPENBLAS_CORETYPE (SkylakeX or Haswell) too. The README's "CPU runtime"
// section has the measured effect of each. Set any of these variables yourself to keep your own
// value; SEQZOO_NO_REEXEC=1 skips the re-exec only.
void tune_cpu_runtime(int argc, char** argv);

// The most intra-op threads a run may ask for (the config key `threads` and --threads).
constexpr int64_t kMaxThreads = 1024;

// --device cpu|cuda|auto -> torch::Device (std::invalid_argument for cuda without CUDA);
// threads 0 = all cores, at most kMaxThreads. Sets LibTorch's intra-op threads.
torch::Device setup_runtime(const std::string& device, int64_t threads);

// Number of hardware cores available to this process.
int64_t hardware_threads();

}  // namespace seqzoo
