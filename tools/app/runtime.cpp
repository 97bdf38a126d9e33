#include "tools/app/runtime.h"

#include "tools/app/cpu_env.h"

#include <cstdlib>
#include <stdexcept>
#include <thread>

#if defined(__linux__)
#include <dlfcn.h>
#include <malloc.h>
#include <strings.h>
#include <unistd.h>
#endif

namespace seqzoo {

#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
// The OpenBLAS kernel set to force, or nullptr. OpenBLAS picks its kernels from the CPU's
// family/model numbers; under hypervisors that hide them (seen: a 2-core "Intel(R) Xeon(R)
// Processor" with AVX-512) it falls back to the SSE3 "Prescott" kernels, several times slower than
// the SkylakeX ones (README, Troubleshooting). Only a pre-AVX2 choice on a CPU that has AVX2+FMA
// is overridden; a correct detection is left alone.
const char* openblas_coretype_override() {
  using corename_fn = char* (*)();
  auto fn = reinterpret_cast<corename_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn == nullptr) return nullptr;  // not OpenBLAS (MKL, reference BLAS): nothing to do
  const char* name = fn();
  if (name == nullptr) return nullptr;
  static const char* const kPreAvx2[] = {
      "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
      "northwood", "banias", "sandybridge", "athlon", "opteron", "opteron_sse3", "barcelona",
      "bobcat", "bulldozer", "piledriver", "steamroller", "excavator", "unknown"};
  bool generic = false;
  for (const char* k : kPreAvx2) generic = generic || strcasecmp(name, k) == 0;
  if (!generic) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}
#endif

void tune_cpu_runtime(int argc, char** argv) {
  (void)argc;
#if defined(__linux__)
  // Keep freed activations in the heap: default glibc maps every block >= 128 KiB (adapting up
  // to 32 MiB) and returns the heap top to the kernel: page faults on every training step. 1 GiB is refused by glibc versions that cap the threshold; fall back to their max.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr && mallopt(M_MMAP_THRESHOLD, 1 << 30) == 0)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Both are read only when the libraries load, hence the re-exec. OpenBLAS's own worker threads
  // otherwise spin (sched_yield) for 2^28 cycles after every multi-threaded GEMM and take the
  // cores from LibTorch's OpenMP threads; 2^4 cycles sends them to sleep at once.
  // (The tools' launcher, tools/launcher/launcher.cpp, has set them already: no re-exec then.)
  bool changed = set_cpu_thread_env();
#if defined(__x86_64__) || defined(__i386__)
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    if (const char* core = openblas_coretype_override())
      changed = (setenv("OPENBLAS_CORETYPE", core, 1) == 0) || changed;
  }
#endif
  if (!changed) return;
  const char* no_reexec = std::getenv("SEQZOO_NO_REEXEC");
  if (no_reexec != nullptr && std::string(no_reexec) == "1") return;
  execv("/proc/self/exe", argv);  // returns only on failure: go on with the active policy
#else
  (void)argv;
#endif
}

int64_t hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int64_t>(n);
}

torch::Device setup_runtime(const std::string& device, int64_t threads) {
  if (threads < 0 || threads > kMaxThreads)
    throw std::invalid_argument("--threads must be in [0, " + std::to_string(kMaxThreads) + "] (0 = all cores), got " +
                                std::to_string(threads));
  // The device is checked before any thread pool is sized.
  if (device != "cpu" && device != "cuda" && device != "auto")
    throw std::invalid_argument("--device must be cpu, cuda or auto, got '" + device + "'");
  torch::set_num_threads(static_cast<int>(threads == 0 ? hardware_threads() : threads));
  if (device == "cpu") return torch::kCPU;
  if (device == "cuda") {
    if (!torch::cuda::is_available())
      throw std::invalid_argument("--device cuda: no CUDA device is available to this LibTorch build");
    return torch::Device(torch::kCUDA, 0);
  }
  if (device == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  throw std::invalid_argument("--device must be cpu, cuda or auto, got '" + device + "'");
}

}  // namespace seqzoo
