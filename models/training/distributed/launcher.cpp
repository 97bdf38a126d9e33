#include "models/training/distributed/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace seqzoo {

namespace {

// Set by the launcher's SIGINT/SIGTERM handler; forwarded to the workers by the wait loop.
volatile sig_atomic_t g_forward_signal = 0;
void on_launcher_signal(int signo) { g_forward_signal = signo; }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with status " + std::to_string(status);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

bool is_rank_variable(const char* entry) {
  static const char* const kNames[] = {"RANK=",      "WORLD_SIZE=",  "LOCAL_RANK=", "LOCAL_WORLD_SIZE=",
                                       "MASTER_ADDR=", "MASTER_PORT=", "GROUP_RANK=", "ROLE_RANK="};
  for (const char* name : kNames)
    if (std::strncmp(entry, name, std::strlen(name)) == 0) return true;
  return false;
}

std::string resolve_executable(const std::string& path) {
  if (path != "/proc/self/exe") return path;
  char buffer[PATH_MAX];
  const ssize_t n = readlink(path.c_str(), buffer, sizeof(buffer) - 1);
  if (n <= 0) return path;
  std::string resolved(buffer, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (resolved.size() > deleted.size() && resolved.compare(resolved.size() - deleted.size(), deleted.size(), deleted) == 0)
    resolved.resize(resolved.size() - deleted.size());
  return resolved;
}

}  // namespace

int find_free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("find_free_port: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string reason = std::strerror(errno);
    close(fd);
    throw std::runtime_error("find_free_port: cannot bind a port on 127.0.0.1: " + reason);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<std::string> strip_option(int argc, const char* const* argv, const std::string& name) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == name) {
      ++i;  // skip its value
      continue;
    }
    if (arg.rfind(name + "=", 0) == 0) continue;
    out.push_back(arg);
  }
  return out;
}

int spawn_local_workers(int nproc, const std::vector<std::string>& args, const LaunchOptions& options,
                        std::ostream& log) {
  if (nproc < 1) throw std::invalid_argument("--nproc must be >= 1, got " + std::to_string(nproc));
  const int port = options.master_port > 0 ? options.master_port : find_free_port();
  // exec the path as given (/proc/self/exe works even if the file was replaced by a rebuild);
  // argv[0] gets the resolved name, for the workers' messages.
  const std::string& exe = options.executable;
  const std::string argv0 = resolve_executable(exe);

  // Everything the children need is built before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> base_env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (!is_rank_variable(*e)) base_env.emplace_back(*e);
  std::vector<std::vector<std::string>> envs(nproc, base_env);
  for (int r = 0; r < nproc; ++r) {
    envs[r].push_back("RANK=" + std::to_string(r));
    envs[r].push_back("WORLD_SIZE=" + std::to_string(nproc));
    envs[r].push_back("LOCAL_RANK=" + std::to_string(r));
    envs[r].push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    envs[r].push_back("MASTER_ADDR=127.0.0.1");
    envs[r].push_back("MASTER_PORT=" + std::to_string(port));
  }
  std::vector<std::vector<char*>> envps(nproc);
  for (int r = 0; r < nproc; ++r) {
    for (auto& s : envs[r]) envps[r].push_back(const_cast<char*>(s.c_str()));
    envps[r].push_back(nullptr);
  }
  std::vector<std::string> argv_strings{argv0};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);

  // Forward SIGINT/SIGTERM to the workers while they run.
  struct sigaction forward {}, old_int {}, old_term {};
  forward.sa_handler = on_launcher_signal;
  sigemptyset(&forward.sa_mask);
  g_forward_signal = 0;
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);
  auto restore_signals = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  };

  std::vector<pid_t> pids(nproc, -1);
  std::vector<bool> running(nproc, false);
  auto kill_all = [&](int sig) {
    for (int r = 0; r < nproc; ++r)
      if (running[r]) kill(pids[r], sig);
  };
  auto reap_all = [&] {
    for (int r = 0; r < nproc; ++r)
      if (running[r]) {
        int status = 0;
        waitpid(pids[r], &status, 0);
        running[r] = false;
      }
  };

  const pid_t launcher_pid = getpid();
  for (int r = 0; r < nproc; ++r) {
    // exec failures come back through a close-on-exec pipe (an errno value; EOF = exec worked).
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
      const std::string reason = std::strerror(errno);
      kill_all(SIGKILL);
      reap_all();
      restore_signals();
      throw std::runtime_error("cannot start rank " + std::to_string(r) + ": pipe: " + reason);
    }
    const pid_t pid = fork();
    if (pid < 0) {
      const std::string reason = std::strerror(errno);
      close(report[0]);
      close(report[1]);
      kill_all(SIGKILL);
      reap_all();
      restore_signals();
      throw std::runtime_error("cannot start rank " + std::to_string(r) + ": fork: " + reason);
    }
    if (pid == 0) {
      close(report[0]);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != launcher_pid) _exit(1);  // the launcher died before prctl took effect
      execve(exe.c_str(), argv.data(), envps[r].data());
      const int err = errno;
      ssize_t ignored = write(report[1], &err, sizeof(err));
      (void)ignored;
      _exit(127);
    }
    close(report[1]);
    int err = 0;
    ssize_t n;
    do {
      n = read(report[0], &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    pids[r] = pid;
    running[r] = true;
    if (n == static_cast<ssize_t>(sizeof(err))) {
      kill_all(SIGKILL);
      reap_all();
      restore_signals();
      throw std::runtime_error("cannot start rank " + std::to_string(r) + ": " + argv0 + ": " + std::strerror(err));
    }
  }

  int result = 0;
  bool stopping = false, interrupted = false;
  std::chrono::steady_clock::time_point kill_at{};
  int live = nproc;
  while (live > 0) {
    // A signal to the launcher first: workers that exit because of the same signal (Ctrl-C reaches
    // the whole process group) are then not taken for failures.
    if (g_forward_signal != 0 && !interrupted) {
      const int sig = g_forward_signal;
      interrupted = true;
      if (!stopping) {
        log << "launcher got signal " << sig << "; stopping the " << live << " running rank"
            << (live == 1 ? "" : "s") << std::endl;
        result = 128 + sig;
        stopping = true;
        kill_all(SIGTERM);
        // Workers checkpoint before they exit: no SIGKILL unless a second signal comes.
        kill_at = std::chrono::steady_clock::time_point::max();
      }
      g_forward_signal = 0;
    } else if (g_forward_signal != 0) {
      g_forward_signal = 0;
      log << "launcher got a second signal; killing the ranks" << std::endl;
      kill_all(SIGKILL);
    }
    bool reaped = false;
    // Failures seen in this pass: when a rank dies, its peers fail right after it ("lost contact"),
    // possibly within one pass; the one killed by a signal is then the likelier cause.
    struct Failure {
      int rank;
      int status;
      bool waited;
    };
    std::vector<Failure> failures;
    for (int r = 0; r < nproc; ++r) {
      if (!running[r]) continue;
      int status = 0;
      const pid_t got = waitpid(pids[r], &status, WNOHANG);
      if (got == 0) continue;
      if (got < 0 && errno == EINTR) continue;
      running[r] = false;
      --live;
      reaped = true;
      const bool ok = got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok) failures.push_back({r, status, got > 0});
    }
    if (!failures.empty() && result == 0 && !stopping) {
      Failure first = failures.front();
      for (const auto& f : failures)
        if (f.waited && WIFSIGNALED(f.status)) {
          first = f;
          break;
        }
      result = first.waited ? exit_code_of(first.status) : 1;
      if (result == 0) result = 1;
      log << "rank " << first.rank << " (pid " << pids[first.rank] << ") "
          << (first.waited ? describe_status(first.status) : std::string("could not be waited for"));
      for (const auto& f : failures)
        if (f.rank != first.rank)
          log << "; rank " << f.rank << " " << (f.waited ? describe_status(f.status) : "could not be waited for");
      if (live > 0) log << "; stopping the other " << live << " rank" << (live == 1 ? "" : "s");
      log << std::endl;
      stopping = true;
      kill_all(SIGTERM);
      kill_at = std::chrono::steady_clock::now() + options.grace;
    }
    if (stopping && live > 0 && std::chrono::steady_clock::now() >= kill_at) {
      kill_all(SIGKILL);
      kill_at = std::chrono::steady_clock::time_point::max();
    }
    if (live > 0 && !reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  restore_signals();
  return result;
}

}  // namespace seqzoo
