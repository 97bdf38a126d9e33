#pragma once
// A local launcher for data-parallel training on one machine (what `torchrun --nproc-per-node N`
// does): starts N copies of a program with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT=<a free port>), waits for all, and stops
// the rest as soon as one fails. POSIX only (fork/exec).
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

namespace seqzoo {

struct LaunchOptions {
  std::string executable = "/proc/self/exe";  // the program to run (default: this one)
  int master_port = 0;                         // 0 = pick a free port on 127.0.0.1
  // After a worker fails: how long the others get between SIGTERM and SIGKILL.
  std::chrono::milliseconds grace = std::chrono::seconds(5);
};

// Runs `nproc` copies of options.executable with arguments `args` (argv[1..], without the
// launcher's own option such as --nproc) and the rank environment; the parent's other environment
// variables are inherited, stdout/stderr shared. Returns 0 when all exit 0. When a worker exits
// non-zero or is killed by a signal, the others get SIGTERM, then SIGKILL after options.grace;
// a line naming the rank and its status goes to `log`, and the result is that worker's exit code
// (128 + signal for a signal). SIGINT/SIGTERM sent to the launcher are forwarded to the workers as
// SIGTERM and the launcher waits for them (they may checkpoint first; a second signal kills them);
// the result is then 128 + that signal.
// Workers get SIGTERM if the launcher dies (PR_SET_PDEATHSIG). Throws std::invalid_argument for
// nproc < 1, std::runtime_error if a process cannot be started.
int spawn_local_workers(int nproc, const std::vector<std::string>& args, const LaunchOptions& options = {},
                        std::ostream& log = std::cerr);

// argv[1..argc) without the option `name` and its value ("--nproc 2" or "--nproc=2").
std::vector<std::string> strip_option(int argc, const char* const* argv, const std::string& name);

// A TCP port on 127.0.0.1 that is free right now (bind to port 0, read it back, close).
// Throws std::runtime_error when no socket can be bound.
int find_free_port();

}  // namespace seqzoo
