#include "models/training/schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace seqzoo {

LrSchedule::LrSchedule(const TrainConfig& c)
    : kind_(c.lr_schedule), peak_(c.lr), min_lr_(c.min_lr), factor_(c.plateau_factor),
      warmup_(c.warmup_steps), patience_(c.plateau_patience) {
  if (kind_ != "inverse_sqrt" && kind_ != "constant" && kind_ != "plateau" && kind_ != "linear" &&
      kind_ != "cosine")
    throw std::invalid_argument("train.lr_schedule: unknown schedule '" + kind_ +
                                "' (known: inverse_sqrt, constant, plateau, linear, cosine)");
  if (budgeted() && c.max_steps == 0 && c.max_minutes == 0 && c.max_epochs == 0)
    throw std::invalid_argument("train.lr_schedule: '" + kind_ +
                                "' decays over the training budget: set train.max_steps, max_minutes or max_epochs");
  if (!(peak_ > 0)) throw std::invalid_argument("train.lr must be > 0");
  if (warmup_ < 0) throw std::invalid_argument("train.warmup_steps must be >= 0");
  if (kind_ == "plateau" && !(factor_ > 0 && factor_ <= 1))
    throw std::invalid_argument("train.plateau_factor must be in (0, 1]");
  if (kind_ == "plateau" && patience_ < 1)
    throw std::invalid_argument("train.plateau_patience must be >= 1");
}

double LrSchedule::lr(int64_t step, double progress) const {
  const double s = static_cast<double>(std::max<int64_t>(step, 1));
  const double w = static_cast<double>(warmup_);
  if (budgeted()) {
    const double p = std::clamp(progress, 0.0, 1.0);
    const double decay = kind_ == "linear" ? 1.0 - p : 0.5 * (1.0 + std::cos(3.14159265358979323846 * p));
    const double ramp = warmup_ > 0 ? s / w : 1.0;
    if (ramp < 1.0 && ramp <= decay) return peak_ * ramp;  // linear warmup, no floor
    return std::max(peak_ * std::min(1.0, decay), min_lr_);
  }
  if (warmup_ > 0 && s < w) return peak_ * s / w;  // linear warmup, no floor
  double rate = peak_;
  if (kind_ == "inverse_sqrt")
    rate = peak_ * std::sqrt(std::max(w, 1.0) / s);  // warmup 0: lr / sqrt(step)
  else if (kind_ == "plateau")
    rate = peak_ * scale_;
  return std::max(rate, min_lr_);
}

bool LrSchedule::on_validation(bool improved) {
  if (kind_ != "plateau") return false;
  if (improved) {
    stalled_ = 0;
    return false;
  }
  if (++stalled_ < patience_) return false;
  stalled_ = 0;
  if (peak_ * scale_ <= min_lr_) return false;  // already at the floor
  scale_ *= factor_;
  return true;
}

}  // namespace seqzoo
