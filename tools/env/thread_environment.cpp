// libseqzoo_env: presets the thread variables that OpenMP and OpenBLAS read in their own
// constructors, before those constructors run. Linked as every tool's first shared library (it
// needs libc alone), so the dynamic linker, which initialises a program's libraries depth first in
// link order (glibc >= 2.35), runs this constructor before LibTorch's, libgomp's and OpenBLAS's.
// tune_cpu_runtime (tools/app/runtime.h) re-executes the tool if they are still unset at main.
// A value already in the environment is kept.
//
// OMP_WAIT_POLICY=passive: idle OpenMP workers sleep instead of spinning on the cores the main thread
// needs between parallel regions. OPENBLAS_THREAD_TIMEOUT=4: OpenBLAS's own GEMM threads sleep after
// 2^4 cycles instead of spinning (sched_yield) for 2^28 after every multi-threaded GEMM.
#include <cstdlib>

namespace {

int preset = 0;

__attribute__((constructor)) void preset_thread_environment() {
  setenv("OMP_WAIT_POLICY", "passive", 0);
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
  preset = 1;
}

}  // namespace

// 1 when the constructor ran (the variables were set, or kept, before the libraries loaded).
extern "C" int seqzoo_thread_environment_preset() { return preset; }
