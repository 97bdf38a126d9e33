// The CPU runtime tuning of the tools (tools/app/runtime.h, tools/env/thread_environment.cpp): the
// thread variables reach OpenMP when it starts, without the tool executing itself a second time.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

namespace {

// Runs `command` through the shell; its stdout and stderr together.
std::string output_of(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// libgomp prints its settings when it initialises with OMP_DISPLAY_ENV=true: once per process start.
const std::string kTool = std::string(SEQZOO_BINARY_DIR) + "/seqzoo-translate --help";
const std::string kClean = "env -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT OMP_DISPLAY_ENV=true OPENBLAS_CORETYPE=Haswell ";

}  // namespace

TEST_CASE("runtime: OpenMP starts with the passive wait policy, in one process start", "[tools][runtime]") {
  const std::string once = output_of(kClean + kTool);
  CHECK(count(once, "OMP_WAIT_POLICY = 'PASSIVE'") == 1);  // set before libgomp read it, no re-exec
  CHECK(count(once, "OMP_WAIT_POLICY") == 1);
  // Without the re-exec fallback it still holds: the variable was there before OpenMP started.
  CHECK(count(output_of(kClean + "SEQZOO_NO_REEXEC=1 " + kTool), "OMP_WAIT_POLICY = 'PASSIVE'") == 1);
  // A value of the user's own is kept.
  CHECK(count(output_of(kClean + "OMP_WAIT_POLICY=active " + kTool), "OMP_WAIT_POLICY = 'ACTIVE'") == 1);
}
