#pragma once
// Data-parallel training on torch.distributed (c10d): one process per rank, each with a full copy
// of the model and its own share of the batches; gradients are averaged across ranks after every
// backward pass, so every rank applies the same update and the copies stay identical (Li et al.
// 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training" -- the DDP
// design: rendezvous through a key/value store, bucketed all-reduce of flattened gradients).
//
// Backends: Gloo on CPU (and, staged through host memory, for CUDA tensors when NCCL is not
// compiled in); NCCL on CUDA when built with USE_C10D_NCCL. All c10d code is compiled only when
// SEQZOO_HAVE_GLOO is defined (CMake finds ProcessGroupGloo.hpp); without it a world of one
// process still works (every collective is the identity) and a larger world throws.
//
// Use (see the trainer):
//   auto env = DistributedEnv::from_env();             // RANK, WORLD_SIZE, ... (torchrun's names)
//   DistributedContext dist;  dist.init(env, device);  // rendezvous (blocks until all ranks join)
//   dist.broadcast_parameters(*model);                 // everyone starts from rank 0's weights
//   for (auto& batch : shard(epoch_batches, env.rank, env.world_size)) {
//     loss.backward();  dist.allreduce_gradients(*model);  optimizer.step();
//   }
//   dist.barrier();
// Every rank must make the same sequence of collective calls with tensors of the same shapes. So
// every decision that changes that sequence must be the same on all ranks: skip-or-step after a
// non-finite gradient (decide on the averaged gradients, or sum a local flag with also_sum), stop
// requests and time limits (sum a flag with also_sum), validation and early stopping (all ranks
// validate, or rank 0 decides and broadcasts). Only rank 0 (is_main()) writes files and logs.
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqzoo {

// Where this process sits in the job; read from torchrun's environment variables.
struct DistributedEnv {
  int rank = 0;                          // RANK: global index of this process, 0 <= rank < world_size
  int world_size = 1;                    // WORLD_SIZE: number of processes
  int local_rank = 0;                    // LOCAL_RANK: index on this machine (picks the GPU)
  int local_world_size = 1;              // LOCAL_WORLD_SIZE: processes on this machine (to split cores)
  std::string master_addr = "127.0.0.1"; // MASTER_ADDR: host of rank 0 (the rendezvous store)
  int master_port = 29500;               // MASTER_PORT: TCP port of the store on rank 0

  // Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; an unset
  // variable keeps its default. Throws std::invalid_argument naming the variable for a value that
  // is not an integer, out of range (rank >= world_size, port not in 1..65535, ...) or empty.
  static DistributedEnv from_env();
  // Checks the fields (same rules); throws std::invalid_argument naming the variable.
  void validate() const;
  bool distributed() const { return world_size > 1; }
};

// Returns whether this build has torch.distributed (c10d + Gloo) compiled in.
bool distributed_available();

// The process group of one data-parallel job. Not thread-safe: call from the training thread.
class DistributedContext {
 public:
  DistributedContext();
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  // Joins the job: rank 0 serves a c10d::TCPStore at master_addr:master_port and waits for the
  // others; everyone then builds the process group (Gloo; NCCL for a CUDA device when compiled in).
  // `timeout` bounds the rendezvous and every later collective: a peer that died or hangs makes the
  // call throw std::runtime_error instead of blocking forever. world_size == 1: no group at all.
  // Throws std::invalid_argument for a bad env, std::runtime_error when the rendezvous fails or
  // c10d is not compiled in (world_size > 1).
  void init(const DistributedEnv& env, torch::Device device = torch::kCPU,
            std::chrono::milliseconds timeout = std::chrono::seconds(60));

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }
  bool distributed() const { return env_.world_size > 1; }
  const DistributedEnv& env() const { return env_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  // Name of the backend in use: "none" (one process), "gloo" or "nccl".
  std::string backend() const;

  // Sets the size of the gradient buckets (bytes; default 25 MiB, as DDP's bucket_cap_mb).
  void set_bucket_bytes(int64_t bytes);
  int64_t bucket_bytes() const { return bucket_bytes_; }

  // Copies every parameter and buffer of `module` from rank `root` to all ranks (call once after
  // building the model, before the first step, so all ranks start identical). A tensor shared by
  // several submodules (tied embeddings) is sent once, here and in allreduce_gradients.
  void broadcast_parameters(torch::nn::Module& module, int root = 0);

  // Replaces each parameter's gradient with its mean over the ranks (sum / world_size): with equal
  // per-rank batches and a per-rank mean loss this is the gradient of the full (world x batch)
  // batch. Parameters without a gradient count as zero (and get one), so all ranks agree on the
  // layout. Gradients are flattened into buckets of bucket_bytes(), one all-reduce per bucket, all
  // in flight at once, then copied back.
  void allreduce_gradients(torch::nn::Module& module);
  // Weighted mean: each rank's gradient counts with `weight` (e.g. its number of target tokens,
  // when each rank's loss is a mean over its own tokens): g = sum_r weight_r * g_r / sum_r weight_r,
  // which equals the gradient of the mean loss over all ranks' tokens. Returns sum_r weight_r.
  // All ranks must call the same overload. A total weight <= 0 throws std::invalid_argument.
  // `also_sum` (optional, the same length on every rank) is summed over the ranks in place, in the
  // same collective as the weight: per-update values that all ranks must agree on at no extra cost,
  // e.g. {loss_sum, tokens, stop_requested ? 1 : 0, non_finite ? 1 : 0}.
  double allreduce_gradients(torch::nn::Module& module, double weight, std::vector<double>* also_sum = nullptr);

  // In-place sum over the ranks (for metrics: loss sums, token counts); returns `tensor`.
  torch::Tensor allreduce_sum(torch::Tensor tensor);
  // Sums each value over the ranks (float64), e.g. {loss_sum, tokens}.
  std::vector<double> allreduce_sum(const std::vector<double>& values);
  // Copies `tensor` from rank `root` to all ranks, in place; returns `tensor`.
  torch::Tensor broadcast(torch::Tensor tensor, int root = 0);

  // Blocks until every rank has reached it (bounded by the timeout).
  void barrier();
  // A barrier through the rendezvous store with its own timeout, for phases where the ranks do
  // unequal work longer than the collective timeout (rank 0 trains the tokenizer while the others
  // wait for it). `name` must be unique per use and the same on all ranks. Fails at once when rank
  // 0 (the store) is gone, otherwise after `timeout`.
  void wait_for_all(const std::string& name, std::chrono::milliseconds timeout);

  // Leaves the group (also done by the destructor). Other ranks' later collectives will fail.
  void shutdown();

  struct Impl;

 private:
  // True when collectives must run (world_size > 1); throws std::runtime_error when the group was
  // never initialised or was shut down.
  bool active() const;

  DistributedEnv env_;
  torch::Device device_ = torch::kCPU;
  std::chrono::milliseconds timeout_ = std::chrono::seconds(60);
  int64_t bucket_bytes_ = int64_t(25) << 20;
  std::unique_ptr<Impl> impl_;
};

// The same partition for sources that make batches on demand: rank r's i-th batch (0 <= i <
// shard_count(n, world)) is the global batch shard_index(i, r, world) of an epoch of n batches.
inline int64_t shard_count(int64_t num_batches, int world) {
  if (world < 1) throw std::invalid_argument("shard: world size must be >= 1, got " + std::to_string(world));
  return num_batches / world;
}
inline int64_t shard_index(int64_t local_index, int rank, int world) {
  if (rank < 0 || rank >= world)
    throw std::invalid_argument("shard: rank " + std::to_string(rank) + " is outside 0.." +
                                std::to_string(world - 1));
  return local_index * world + rank;
}

// The batches of one epoch that rank `rank` of `world` processes: every world-th batch starting at
// `rank`, after dropping the last batches.size() % world so that every rank makes the same number
// of steps (a collective per step needs all ranks). Disjoint across ranks and deterministic: the
// caller shuffles the epoch's list with the same seed on every rank first.
// Throws std::invalid_argument unless 0 <= rank < world.
template <typename T>
std::vector<T> shard(const std::vector<T>& batches, int rank, int world) {
  if (world < 1) throw std::invalid_argument("shard: world size must be >= 1, got " + std::to_string(world));
  if (rank < 0 || rank >= world)
    throw std::invalid_argument("shard: rank " + std::to_string(rank) + " is outside 0.." +
                                std::to_string(world - 1));
  const int64_t per_rank = shard_count(static_cast<int64_t>(batches.size()), world);
  std::vector<T> out;
  out.reserve(static_cast<size_t>(per_rank));
  for (int64_t i = 0; i < per_rank; ++i) out.push_back(batches[static_cast<size_t>(shard_index(i, rank, world))]);
  return out;
}

}  // namespace seqzoo
