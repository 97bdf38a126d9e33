#pragma once
// Inverted dropout (Srivastava et al. 2014): y = x * m / (1 - p), m ~ Bernoulli(1 - p).
#include <torch/torch.h>

namespace seqzoo {

// Same result distribution as torch::dropout(x, p, training). On CPU the mask is drawn with
// uniform_ and a comparison, about twice as fast as LibTorch's bernoulli_ path there (whose
// per-element double-precision sampling dominates the cost); elsewhere it is torch::dropout.
// Returns x itself when not training or p == 0.
torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool training);

}  // namespace seqzoo
