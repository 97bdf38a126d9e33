#pragma once
// Checkpoints: the model's parameters and buffers, and for training checkpoints the optimizer,
// the schedule and the position of the run (step, epoch, batch within the epoch, RNG states,
// best metric, counters), so that a resumed run repeats the uninterrupted one.
//
// Format: a LibTorch archive (torch::serialize, a zip file) with
//   format = "seqzoo-checkpoint", version, family, names (the model's parameter and buffer names),
//   numel (their total size), checksum (exact sum of their bit patterns),
//   model/<name> tensors, optimizer/ (torch::optim serialisation), train/ (TrainState).
// Writes go to <path>.tmp, are fsync'ed and renamed over <path>: a crash at any moment leaves the
// previous file intact. Loading checks the archive, the names, shapes and the checksum; any
// failure is a std::runtime_error naming the file, never a silent partial load.
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace seqzoo {

// Where a training run stands: what a resumed run needs besides the model and optimizer.
struct TrainState {
  int64_t step = 0;                  // completed updates
  int64_t epoch = 1;                 // epoch of the next batch (1-based)
  int64_t batch_in_epoch = 0;        // batches of `epoch` already consumed
  bool has_best = false;             // a validation metric has been recorded
  double best_metric = 0;            // best validation metric (BLEU: higher is better; loss: lower)
  int64_t best_step = 0;             // step of best_metric
  bool has_sched_best = false;       // best metric over scheduled validations (every valid_every):
  double sched_best_metric = 0;      //   what early stopping and the plateau schedule compare with
  int64_t stalled_validations = 0;   // scheduled validations without improvement (early stopping)
  int64_t bad_steps = 0;             // consecutive updates skipped for a NaN/inf loss
  int64_t total_bad_steps = 0;       // all skipped updates
  double elapsed_seconds = 0;        // training wall-clock time so far
  double lr_scale = 1.0;             // schedule state (plateau decays)
  int64_t lr_stalled = 0;            // schedule state (plateau counter)
  double loss_scale = 0;             // fp16 dynamic loss scale (0 = not used)
  int64_t loss_scale_good_steps = 0; // fp16: updates since the last scale change
  torch::Tensor cpu_rng;             // CPU generator state (uint8), undefined = not saved
  torch::Tensor cuda_rng;            // CUDA generator state (uint8), undefined = not used
};

// Copies the default CPU (and, with cuda = true, CUDA) generator states into `state`.
void capture_rng_state(TrainState& state, bool cuda);
// Restores the generator states saved in `state` (those that are defined).
void restore_rng_state(const TrainState& state);

struct CheckpointInfo {
  std::string path;
  std::string family;
  int64_t numel = 0;           // parameters + buffers
  bool has_optimizer = false;
  bool has_train_state = false;
  int64_t step = 0;            // train state's step (0 when absent)
};

// Saves model (+ optimizer, + state when given) atomically to `path`; creates the parent folder.
void save_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                     const torch::optim::Optimizer* optimizer = nullptr, const TrainState* state = nullptr);

// Loads `path` into model (and optimizer / state when given: the checkpoint must then hold them).
// Tensors are mapped to `device`. Errors: std::runtime_error "checkpoint PATH ...": not found,
// corrupt or truncated, not a seqzoo checkpoint, does not match the model (names/shapes), family
// differs from `family` (when not empty).
CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer = nullptr, TrainState* state = nullptr,
                               const torch::Device& device = torch::kCPU, const std::string& family = "");

// Reads the model tensors of a checkpoint (checked as above, except against a model).
std::vector<std::pair<std::string, torch::Tensor>> read_checkpoint_model(const std::string& path,
                                                                         CheckpointInfo* info = nullptr);

// Mean of the model tensors of `paths` (same family, names and shapes; integer buffers are taken
// from the last), written atomically to out_path as a model-only checkpoint.
void average_checkpoints(const std::vector<std::string>& paths, const std::string& out_path);

// Makes `to` name the same content as `from` atomically (hard link, or a copy where links fail).
void publish_checkpoint(const std::string& from, const std::string& to);

// Run directory helpers: <run_dir>/checkpoints/<name>.pt for "best", "last", "averaged";
// anything else is taken as a path.
std::string resolve_checkpoint(const std::string& run_dir, const std::string& checkpoint);
// The run's checkpoints/step-N.pt files, by increasing N.
std::vector<std::string> step_checkpoints(const std::string& run_dir);
// Averages the last k step checkpoints of a run into <run_dir>/checkpoints/averaged.pt and returns
// its path; std::invalid_argument when the run has fewer than k.
std::string average_run_checkpoints(const std::string& run_dir, int64_t k);

// Exact checksum of a tensor's bit pattern (sum of its 16/32/64-bit words); used by checkpoints.
int64_t tensor_checksum(const torch::Tensor& t);

}  // namespace seqzoo
