#pragma once
// The environment libgomp and OpenBLAS must find when they load (they read it only then), in one
// place for the two that set it: tune_cpu_runtime (tools/app/runtime.h, which re-executes the
// program when it had to change anything) and the tools' launcher (tools/launcher/launcher.cpp, which
// sets it before the program and its libraries are loaded at all, so no re-exec is needed).
// Depends on the C library alone.
#include <cstdlib>

namespace seqzoo {

// Sets OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles) where unset; a value the
// user set is kept. Returns whether anything was set. Spinning OpenMP or OpenBLAS workers otherwise
// steal the core the main thread needs between parallel regions (OpenBLAS's own threads spin for
// 2^28 cycles after every multi-threaded GEMM).
inline bool set_cpu_thread_env() {
  bool changed = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) changed = setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr)
    changed = (setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0) || changed;
  return changed;
}

}  // namespace seqzoo
