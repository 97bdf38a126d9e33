// The tools' launcher: build/seqzoo-<tool> is this small program (the C library alone, no LibTorch);
// it sets the CPU runtime's environment (tools/app/cpu_env.h) and executes the real tool,
// build/libexec/seqzoo-<tool>, in its place (same process id, same arguments). Without it the tool
// would load LibTorch, set the variables and execute itself again to make libgomp and OpenBLAS read
// them: a second load of LibTorch on every start. The real tool still checks and re-executes itself
// when started directly, or when OpenBLAS picked the wrong kernels (tools/app/runtime.h).
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/app/cpu_env.h"

#ifndef SEQZOO_TOOL
#error "SEQZOO_TOOL (the tool's file name, e.g. seqzoo-translate) must be defined"
#endif

int main(int argc, char** argv) {
  (void)argc;
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    std::fprintf(stderr, "%s: error: cannot find its own path (/proc/self/exe): %s\n", SEQZOO_TOOL, std::strerror(errno));
    return 127;
  }
  self[n] = '\0';
  std::string tool(self);
  tool = tool.substr(0, tool.rfind('/') + 1) + "libexec/" + SEQZOO_TOOL;
  seqzoo::set_cpu_thread_env();
  execv(tool.c_str(), argv);
  std::fprintf(stderr, "%s: error: cannot run %s: %s\n", SEQZOO_TOOL, tool.c_str(), std::strerror(errno));
  return 127;
}
