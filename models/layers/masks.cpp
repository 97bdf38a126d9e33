#include "models/layers/masks.h"

namespace seqzoo {

torch::Tensor length_mask(const torch::Tensor& lengths, int64_t max_len) {
  auto pos = torch::arange(max_len, lengths.options().dtype(torch::kInt64));
  return pos.unsqueeze(0).lt(lengths.to(torch::kInt64).unsqueeze(1));
}

}  // namespace seqzoo
