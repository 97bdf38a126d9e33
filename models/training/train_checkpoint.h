#pragma once
// Training checkpoints: the model (models/checkpoint/checkpoint.h) plus the optimizer, the
// schedule and the position of the run (step, epoch, batch within the epoch, RNG states, best
// metric, counters), so that a resumed run repeats the uninterrupted one.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/checkpoint/checkpoint.h"

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

// Saves model, optimizer and state atomically to `path`. With weight averaging (models/training/ema.h)
// the model holds the average and `raw` the training weights (in the model's parameter order).
void save_train_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                           const torch::optim::Optimizer& optimizer, const TrainState& state,
                           const CheckpointMeta& meta = {}, const std::vector<torch::Tensor>& raw = {});

// Saves the model and the run's position (train/: step, best metric, ...) atomically to `path`, without
// the optimizer or raw weights: a third of the size, what inference and reports read (best.pt).
void save_position_checkpoint(const std::string& path, const torch::nn::Module& model, const std::string& family,
                              const TrainState& state, const CheckpointMeta& meta = {});

// Loads a training checkpoint into model, optimizer and state (std::runtime_error naming the file
// when it has no optimizer or training state, or as load_checkpoint). `raw` (when not null) gets
// the training weights saved beside an averaged model, or stays empty.
CheckpointInfo load_train_checkpoint(const std::string& path, torch::nn::Module& model,
                                     torch::optim::Optimizer& optimizer, TrainState& state,
                                     const torch::Device& device = torch::kCPU, const std::string& family = "",
                                     std::vector<torch::Tensor>* raw = nullptr);

}  // namespace seqzoo
