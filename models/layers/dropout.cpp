#include "models/layers/dropout.h"

#include <stdexcept>

namespace seqzoo {

torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1) throw std::invalid_argument("dropout: p must be below 1");
  if (!x.device().is_cpu()) return torch::dropout(x, p, true);
  // mask = 1/(1-p) where u >= p (probability 1-p), else 0; built in place from the uniform draw.
  auto mask = torch::empty_like(x, torch::MemoryFormat::Contiguous).uniform_().ge_(p).mul_(1.0 / (1.0 - p));
  return x * mask;
}

}  // namespace seqzoo
