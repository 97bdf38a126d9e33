#pragma once
// How the trainer reports, without writing a file itself (Marian's Reporter, fairseq's progress
// and metrics loggers). A run directory's reporter (tools/app/run_reporter.h) turns the calls into
// train.log, metrics.tsv, curves.svg and checkpoints; tests use their own or none.
#include <cstdint>
#include <functional>
#include <string>

#include "models/training/metrics.h"

namespace seqzoo {

using CheckpointWriter = std::function<void(const std::string& path, bool training_state)>;

class TrainReporter {
 public:
  virtual ~TrainReporter() = default;
  // A progress, validation or note line, as printed.
  virtual void line(const std::string& text) = 0;
  // A metrics row: train rows at log steps, valid rows after each validation.
  virtual void metrics(const MetricsRow& row) = 0;
  // Keeps a checkpoint of `step`: `write(path, true)` writes a training checkpoint (what a resumed
  // run needs) to the path the reporter chose; `write(path, false)` the model and the run's position
  // alone, without the optimizer's moments (what inference reads: best.pt).
  // improved: the validation metric improved on the best so far (the checkpoint becomes the best).
  virtual void checkpoint(int64_t step, bool improved, const CheckpointWriter& write) = 0;
  // The newest complete checkpoint, named in error messages ("" = none yet).
  virtual std::string last_checkpoint() const = 0;
  // The run resumed at `step`: rows reported after it belong to the lost future and are dropped.
  virtual void resumed(int64_t step) = 0;
  // Refresh derived reports (after a validation, at the end).
  virtual void flush() = 0;
};

}  // namespace seqzoo
