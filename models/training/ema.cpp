#include "models/training/ema.h"

#include <algorithm>
#include <stdexcept>

namespace seqzoo {

WeightAverage::WeightAverage(std::vector<torch::Tensor> params, double decay) : params_(std::move(params)), decay_(decay) {
  if (!(decay >= 0 && decay < 1)) throw std::invalid_argument("train.ema_decay: must be in [0, 1)");
  torch::NoGradGuard no_grad;
  for (const auto& p : params_) other_.push_back(p.detach().clone());
}

void WeightAverage::update(int64_t step) {
  if (swapped_) throw std::logic_error("WeightAverage::update while the average is swapped in");
  const double d = std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (d == 0)
      other_[i].copy_(params_[i]);
    else
      other_[i].mul_(d).add_(params_[i].detach(), 1.0 - d);
  }
}

void WeightAverage::swap() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor tmp = params_[i].detach().clone();
    params_[i].copy_(other_[i]);
    other_[i].copy_(tmp);
  }
  swapped_ = !swapped_;
}

void WeightAverage::restore(const std::vector<torch::Tensor>& raw, const std::vector<torch::Tensor>& average) {
  if (raw.size() != params_.size() || average.size() != params_.size())
    throw std::invalid_argument("WeightAverage::restore: " + std::to_string(raw.size()) + " raw and " +
                                std::to_string(average.size()) + " averaged tensors for " +
                                std::to_string(params_.size()) + " parameters");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].copy_(raw[i]);
    other_[i].copy_(average[i]);
  }
  swapped_ = false;
}

}  // namespace seqzoo
