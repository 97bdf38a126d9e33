#pragma once
// The training loop: epochs of token-budget batches, label-smoothed cross-entropy, Adam/AdamW with
// a learning-rate schedule, gradient clipping and accumulation, NaN/inf guards, periodic
// validation (loss and BLEU), checkpoints with exact resume, progress lines and metrics rows, all
// reported through a TrainReporter (the trainer writes no file itself). The hot loop reads one flag back per update (skip-or-step) and the loss sums
// only at log steps; everything else stays on the device.
#include <torch/torch.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "data/batch.h"
#include "models/core/model.h"
#include "models/search/search.h"
#include "models/training/ema.h"
#include "models/training/reporter.h"
#include "models/training/schedule.h"
#include "models/training/train_checkpoint.h"
#include "models/training/train_config.h"

namespace seqzoo {

class DistributedContext;  // models/training/distributed/distributed.h

// Training batches as the trainer sees them: epoch e (1-based) is a fixed list of batches, a
// function of (seed, e) only, so a resumed run can skip to any position.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Plans epoch `epoch`; returns its number of batches.
  virtual int64_t begin_epoch(int64_t epoch) = 0;
  // The index-th batch of the planned epoch (host tensors).
  virtual Batch batch(int64_t index) = 0;
};

// The validation data: teacher-forced batches for loss/perplexity and, optionally, a BLEU scorer
// that decodes the set (called with the model in eval mode under NoGradGuard).
struct ValidationSet {
  std::vector<Batch> batches;  // host tensors
  // Corpus BLEU of the validation sentences decoded with train.valid_beam (empty: no BLEU).
  std::function<double(Seq2SeqModelImpl& model, const torch::Device& device)> bleu;
  // The same with any search options (e.g. another beam or length penalty).
  std::function<double(Seq2SeqModelImpl& model, const torch::Device& device, const SearchOptions& options)> bleu_with;
};

struct ValidResult {
  double loss = 0;                                    // label-smoothed loss per target token
  double nll = 0;                                     // NLL per target token
  double ppl = 0;                                     // exp(nll)
  double bleu = std::numeric_limits<double>::quiet_NaN();  // NaN when not computed
  int64_t tokens = 0;
  double seconds = 0;
};

// Passed to TrainerOptions::on_update after every update (skipped ones included).
struct UpdateInfo {
  int64_t step = 0;           // updates completed (not advanced by a skipped update)
  int64_t epoch = 0;          // epoch the update's batches came from
  bool skipped = false;       // NaN/inf loss or gradient: no parameter change
  double lr = 0;
  torch::Tensor loss;         // scalar (device): label-smoothed loss per target token of the update
  torch::Tensor nll;          // scalar (device): NLL per target token
  int64_t src_tokens = 0, tgt_tokens = 0;
};

struct TrainerOptions {
  torch::Device device = torch::kCPU;
  std::string resume_from;                 // a training checkpoint to continue from ("" = start afresh)
  std::ostream* out = nullptr;             // progress lines (nullptr = silent)
  TrainReporter* reporter = nullptr;       // lines, metrics rows, checkpoints (nullptr = none kept)
  const std::atomic<bool>* stop = nullptr; // when set: checkpoint and stop after the current update
  std::function<void(const UpdateInfo&)> on_update;  // observer (tests, tools)
  CheckpointMeta checkpoint_meta;          // recorded in every checkpoint (the model's config, tokenizer)
  // Data-parallel training (models/training/distributed/distributed.h): every rank runs a Trainer
  // with its own share of the batches (ShardedBatchSource); gradients are averaged weighted by
  // target tokens, loss sums, stop requests and validation results agreed across ranks; only rank
  // 0 is given a reporter. nullptr = one process.
  DistributedContext* dist = nullptr;
};

struct TrainResult {
  int64_t steps = 0;
  int64_t epoch = 0;                 // epoch of the next batch
  std::string stop_reason;           // max_steps | max_epochs | max_minutes | early_stopping | interrupted
  bool has_best = false;
  double best_metric = 0;
  int64_t best_step = 0;
  int64_t total_bad_steps = 0;
  double elapsed_seconds = 0;
  std::optional<ValidResult> last_valid;
  std::string last_checkpoint;       // the reporter's newest checkpoint ("" without a reporter)
};

class Trainer {
 public:
  // Moves the model to options.device and builds the optimizer and schedule. `valid` may be null
  // (no validation; best.pt then follows last.pt). The model, source and validation set must
  // outlive the trainer.
  Trainer(const TrainConfig& config, ModelPtr model, BatchSource& train, const ValidationSet* valid,
          TrainerOptions options);
  ~Trainer();

  // Runs until max_steps / max_epochs / max_minutes / early stopping / stop flag. Throws
  // std::runtime_error after max_bad_steps consecutive NaN/inf updates (the checkpoints on disk
  // stay those of the last good validation).
  TrainResult train();

  // Teacher-forced loss and (with valid_bleu and a scorer) BLEU on the validation set.
  ValidResult validate();

  const TrainState& state() const { return state_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }

 private:
  static double now();  // steady clock, seconds
  struct Pending {
    Batch batch;  // on the device
  };
  void log(const std::string& line);
  void prefetch(int64_t want);
  Batch to_device(const Batch& b) const;
  bool run_update(const std::vector<Batch>& batches, int64_t epoch);
  void run_validation(bool scheduled, int64_t epoch, std::string& stop_reason);
  void log_progress(int64_t epoch);
  void report(const MetricsRow& row);
  void save(bool improved);
  void resume();
  double elapsed() const;
  // Fraction of the training budget spent (budget-aware lr schedules): the largest of steps/max_steps,
  // minutes/max_minutes (the ranks' mean under data parallelism) and epochs/max_epochs, in [0, 1].
  double progress() const;
  std::string eta(double elapsed_now) const;
  std::string metric_name() const;

  TrainConfig config_;
  ModelPtr model_;
  BatchSource& train_;
  const ValidationSet* valid_;
  TrainerOptions options_;
  std::vector<torch::Tensor> params_;
  // Weight averaging (train.ema_decay > 0): made in train(), after a resume and the ranks' broadcast.
  std::unique_ptr<WeightAverage> average_;
  std::vector<torch::Tensor> resumed_average_;  // the average a resumed checkpoint held
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  LrSchedule schedule_;
  TrainState state_;

  // Position of the planned epoch: batches [state_.batch_in_epoch, cursor_) are prefetched.
  int64_t plan_epoch_ = 0, plan_size_ = 0, cursor_ = 0;
  std::deque<Pending> queue_;

  // Precision.
  bool autocast_ = false;            // forward + loss under autocast (CUDA bf16/fp16, CPU bf16)
  torch::ScalarType autocast_dtype_ = torch::kFloat;
  bool loss_scaling_ = false;

  // Log-interval accumulators (device scalars, read at log steps only).
  torch::Tensor log_loss_, log_nll_;
  int64_t log_tgt_tokens_ = 0, log_src_tokens_ = 0, log_updates_ = 0;
  double log_start_ = 0;

  // Timing: wall clock at start of train() and the step count then (for the ETA).
  double start_wall_ = 0;
  double elapsed_base_ = 0;  // training time of earlier processes (resume)
  int64_t start_step_ = 0;
  double last_lr_ = 0;

  int64_t last_valid_step_ = -1, last_saved_step_ = -1;
  std::optional<ValidResult> last_valid_;
  bool warned_metric_ = false;

  double dist_elapsed_ = 0;  // data parallel: the ranks' mean elapsed() at the last update
  // Data parallel: the stop requests agreed in the last update.
  bool dist_time_up_ = false, dist_stop_ = false;
};

}  // namespace seqzoo
