#pragma once
// Exponential moving average of the model's weights (Marian's exponential smoothing, fairseq's and
// Polyak averaging's EMA): after each update avg = d * avg + (1 - d) * w, with the decay warmed up as
// Marian does, d_t = min(decay, (1 + t) / (10 + t)), so that early averages do not drag the random
// initialisation along. The trainer validates and saves the average while the raw weights go on
// training; a checkpoint holds the average as its model (what inference loads) and the raw weights
// beside it, so a resumed run continues exactly.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace seqzoo {

class WeightAverage {
 public:
  // params: the model's parameters (updated in place by the optimizer); the average starts as a
  // copy of their current values. decay in [0, 1): 0 makes the average the weights themselves.
  WeightAverage(std::vector<torch::Tensor> params, double decay);

  // After update number `step` (1-based).
  void update(int64_t step);
  // Exchanges the parameters' values with the average's; a second call swaps back.
  void swap();
  bool swapped() const { return swapped_; }
  // The raw (training) weights and the average, whichever way round they are swapped.
  const std::vector<torch::Tensor>& raw() const { return swapped_ ? other_ : params_; }
  const std::vector<torch::Tensor>& average() const { return swapped_ ? params_ : other_; }
  // Sets both (resume): the parameters get the raw weights, the average its own values.
  void restore(const std::vector<torch::Tensor>& raw, const std::vector<torch::Tensor>& average);

 private:
  std::vector<torch::Tensor> params_, other_;
  double decay_;
  bool swapped_ = false;
};

// Swaps the average in for a scope (validation, saving) unless it is in already.
class AverageScope {
 public:
  explicit AverageScope(WeightAverage* average) : average_(average && !average->swapped() ? average : nullptr) {
    if (average_) average_->swap();
  }
  ~AverageScope() {
    if (average_) average_->swap();
  }
  AverageScope(const AverageScope&) = delete;
  AverageScope& operator=(const AverageScope&) = delete;

 private:
  WeightAverage* average_;
};

}  // namespace seqzoo
