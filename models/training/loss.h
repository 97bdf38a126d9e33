#pragma once
// Label-smoothed cross-entropy (Szegedy et al. 2016, "Rethinking the Inception Architecture"),
// with PyTorch's convention: the smoothing mass epsilon is spread uniformly over all V classes,
//   loss = (1 - eps) * (-log p_y) + (eps / V) * sum_k (-log p_k),
// summed over the non-padding target positions. The un-smoothed NLL is returned beside it for
// perplexity. Both are sums: the caller divides by the number of target tokens of the update.
#include <torch/torch.h>

namespace seqzoo {

struct LossSums {
  torch::Tensor loss;  // scalar float: label-smoothed cross-entropy summed over non-pad tokens (grad)
  torch::Tensor nll;   // scalar float: un-smoothed negative log-likelihood, summed (detached)
};

// logits [B,T,V] (any float type; computed in float32), target [B,T] int64 with kPadId ignored,
// epsilon in [0, 1). One log_softmax pass serves both sums (what cross_entropy with
// label_smoothing and ignore_index computes internally).
LossSums label_smoothed_loss(const torch::Tensor& logits, const torch::Tensor& target, double epsilon);

}  // namespace seqzoo
