// DistributedEnv: where this process sits in a data-parallel job, from torchrun's variables.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "models/training/distributed/distributed.h"

namespace seqzoo {
namespace {

// Parses an integer environment variable; unset keeps `fallback`.
int env_int(const char* name, int fallback, int min_value, int max_value) {
  const char* raw = std::getenv(name);
  if (raw == nullptr) return fallback;
  const std::string text(raw);
  if (text.empty()) throw std::invalid_argument(std::string(name) + " is set but empty");
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0')
    throw std::invalid_argument(std::string(name) + "='" + text + "' is not an integer");
  if (value < min_value || value > max_value)
    throw std::invalid_argument(std::string(name) + "=" + text + " is out of range " +
                                std::to_string(min_value) + ".." + std::to_string(max_value));
  return static_cast<int>(value);
}

}  // namespace

void DistributedEnv::validate() const {
  if (world_size < 1) throw std::invalid_argument("WORLD_SIZE=" + std::to_string(world_size) + " must be >= 1");
  if (rank < 0 || rank >= world_size)
    throw std::invalid_argument("RANK=" + std::to_string(rank) + " must be in 0..WORLD_SIZE-1 (WORLD_SIZE=" +
                                std::to_string(world_size) + ")");
  if (local_world_size < 1 || local_world_size > world_size)
    throw std::invalid_argument("LOCAL_WORLD_SIZE=" + std::to_string(local_world_size) +
                                " must be in 1..WORLD_SIZE (WORLD_SIZE=" + std::to_string(world_size) + ")");
  if (local_rank < 0 || local_rank >= local_world_size)
    throw std::invalid_argument("LOCAL_RANK=" + std::to_string(local_rank) +
                                " must be in 0..LOCAL_WORLD_SIZE-1 (LOCAL_WORLD_SIZE=" +
                                std::to_string(local_world_size) + ")");
  if (master_port < 1 || master_port > 65535)
    throw std::invalid_argument("MASTER_PORT=" + std::to_string(master_port) + " must be in 1..65535");
  if (master_addr.empty()) throw std::invalid_argument("MASTER_ADDR is empty");
}

DistributedEnv DistributedEnv::from_env() {
  constexpr int kMaxInt = 1 << 30;
  DistributedEnv env;
  env.world_size = env_int("WORLD_SIZE", 1, 1, kMaxInt);
  env.rank = env_int("RANK", 0, 0, kMaxInt);
  env.local_rank = env_int("LOCAL_RANK", env.rank, 0, kMaxInt);
  // torchrun always sets LOCAL_WORLD_SIZE; a bare RANK/WORLD_SIZE launch is taken as one machine.
  env.local_world_size = env_int("LOCAL_WORLD_SIZE", env.world_size, 1, kMaxInt);
  env.master_port = env_int("MASTER_PORT", env.master_port, 1, 65535);
  if (const char* addr = std::getenv("MASTER_ADDR")) {
    env.master_addr = addr;
    if (env.master_addr.empty()) throw std::invalid_argument("MASTER_ADDR is set but empty");
  }
  env.validate();
  return env;
}

}  // namespace seqzoo
