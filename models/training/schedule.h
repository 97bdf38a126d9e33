#pragma once
// Learning-rate schedules (train.lr_schedule), all with a linear warmup over warmup_steps:
//   inverse_sqrt: lr * min(step / warmup, sqrt(warmup / step))  (Vaswani et al. 2017, "Noam")
//   constant:     lr * min(1, step / warmup)
//   plateau:      lr * min(1, step / warmup) * plateau_factor^k, k = decays so far: one decay after
//                 plateau_patience validations in a row without improvement
//   linear:       lr * min(step / warmup, 1 - p)                   budget-aware: p in [0, 1] is the
//   cosine:       lr * min(step / warmup, (1 + cos(pi p)) / 2)     fraction of the training budget spent
//                 (the largest of steps / max_steps, minutes / max_minutes, epochs / max_epochs), so the
//                 rate reaches min_lr when training stops, whichever limit stops it (Li et al. 2020,
//                 "Budgeted Training"; Loshchilov & Hutter 2017 for the cosine).
// After warmup the rate is floored at min_lr.
#include <cstdint>
#include <string>

#include "models/training/train_config.h"

namespace seqzoo {

class LrSchedule {
 public:
  explicit LrSchedule(const TrainConfig& config);

  // The learning rate of update number `step` (1-based); `progress` is the fraction of the training
  // budget spent before it, in [0, 1] (read by the budget-aware schedules only).
  double lr(int64_t step, double progress = 0) const;

  // Whether lr() reads `progress` (the trainer then needs a budget: max_steps/minutes/epochs).
  bool budgeted() const { return kind_ == "linear" || kind_ == "cosine"; }

  // Reports one validation (improved = the best metric got better). The plateau schedule decays
  // after plateau_patience stalled validations in a row; returns true when it decayed.
  bool on_validation(bool improved);

  // State for checkpoints.
  double scale() const { return scale_; }
  int64_t stalled() const { return stalled_; }
  void restore(double scale, int64_t stalled) { scale_ = scale; stalled_ = stalled; }

 private:
  std::string kind_;
  double peak_, min_lr_, factor_;
  int64_t warmup_, patience_;
  double scale_ = 1.0;   // plateau: product of the decays so far
  int64_t stalled_ = 0;  // plateau: validations without improvement since the last decay/improvement
};

}  // namespace seqzoo
