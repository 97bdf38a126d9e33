#pragma once
// Multi-process test harness: fork() ranks that run a body and report a string through a pipe.
// A child never returns into Catch2: it _exit()s after reporting.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/training/distributed/distributed.h"

namespace seqzoo::test {

using Clock = std::chrono::steady_clock;

struct RankResult {
  bool exited = false;   // exited on its own (not killed by the harness)
  int exit_code = -1;    // _exit code, or 128 + signal
  std::string text;      // what the rank's body returned (or "EXCEPTION: ...")
  double seconds = 0;    // wall time until the rank's pipe closed
};

// Forks `world` ranks; rank r runs body(r) and reports the returned string. After `limit` the
// remaining ranks are SIGKILLed. When `finisher` >= 0, the other ranks are SIGKILLed as soon as
// that rank has reported (for tests where a peer is meant to hang).
inline std::vector<RankResult> run_ranks(int world, std::chrono::milliseconds limit,
                                  const std::function<std::string(int)>& body, int finisher = -1) {
  std::fflush(nullptr);
  std::cout.flush();
  std::cerr.flush();
  std::vector<pid_t> pids(world, -1);
  std::vector<int> fds(world, -1);
  const auto start = Clock::now();
  for (int r = 0; r < world; ++r) {
    int p[2];
    if (pipe(p) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(p[0]);
      // One intra-op thread per rank: 2 cores, and no reuse of the parent's OpenMP pool.
      torch::set_num_threads(1);
      std::string out;
      int code = 0;
      try {
        out = body(r);
      } catch (const std::exception& e) {
        out = std::string("EXCEPTION: ") + e.what();
        code = 1;
      } catch (...) {
        out = "EXCEPTION: unknown";
        code = 1;
      }
      size_t done = 0;
      while (done < out.size()) {
        const ssize_t n = write(p[1], out.data() + done, out.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      close(p[1]);
      _exit(code);
    }
    close(p[1]);
    pids[r] = pid;
    fds[r] = p[0];
  }
  std::vector<RankResult> results(world);
  std::vector<bool> open(world, true);
  int open_count = world;
  auto kill_open = [&] {
    for (int r = 0; r < world; ++r)
      if (open[r]) kill(pids[r], SIGKILL);
  };
  bool killed = false;
  while (open_count > 0) {
    const auto left = limit - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (left.count() <= 0) {
      kill_open();
      killed = true;
      break;
    }
    std::vector<pollfd> polls;
    std::vector<int> which;
    for (int r = 0; r < world; ++r)
      if (open[r]) {
        polls.push_back({fds[r], POLLIN, 0});
        which.push_back(r);
      }
    const int ready = poll(polls.data(), polls.size(), static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (ready <= 0) continue;
    for (size_t i = 0; i < polls.size(); ++i) {
      if (polls[i].revents == 0) continue;
      const int r = which[i];
      char buffer[4096];
      const ssize_t n = read(fds[r], buffer, sizeof(buffer));
      if (n > 0) {
        results[r].text.append(buffer, static_cast<size_t>(n));
      } else {
        open[r] = false;
        --open_count;
        results[r].seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (r == finisher) {
          kill_open();
          for (int q = 0; q < world; ++q)
            if (open[q]) {
              open[q] = false;
              --open_count;
            }
        }
      }
    }
  }
  for (int r = 0; r < world; ++r) {
    close(fds[r]);
    int status = 0;
    waitpid(pids[r], &status, 0);
    results[r].exited = WIFEXITED(status) && !(killed && open[r]);
    results[r].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return results;
}

// Runs `body` in one forked child and returns the tensors it produced (torch::save through the
// pipe). For reference computations that need autograd in a test that forks ranks afterwards:
// the first backward() starts the autograd engine's device threads when LibTorch has a non-CPU
// device type (CUDA with a GPU; Debian's 2.x CPU build registers Vulkan), and from then on
// backward() in a fork()ed child throws ("Unable to handle autograd's threading in combination
// with fork-based multiprocessing"). So the parent process must not run backward() itself.
inline std::vector<torch::Tensor> in_child(std::chrono::milliseconds limit,
                                           const std::function<std::vector<torch::Tensor>()>& body) {
  const auto results = run_ranks(1, limit, [&](int) {
    std::ostringstream out;
    torch::save(body(), out);
    return out.str();
  });
  if (results[0].exit_code != 0)
    throw std::runtime_error("in_child: exit code " + std::to_string(results[0].exit_code) + ": " +
                             results[0].text);
  std::istringstream in(results[0].text);
  std::vector<torch::Tensor> tensors;
  torch::load(tensors, in);
  return tensors;
}

inline DistributedEnv make_env(int rank, int world, int port) {
  DistributedEnv env;
  env.rank = rank;
  env.world_size = world;
  env.local_rank = rank;
  env.local_world_size = world;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  return env;
}

inline std::vector<double> parse_numbers(const std::string& text) {
  std::istringstream in(text);
  std::vector<double> out;
  double x;
  while (in >> x) out.push_back(x);
  return out;
}

}  // namespace seqzoo::test
