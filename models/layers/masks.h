#pragma once
// Masks shared by every family.
#include <torch/torch.h>

namespace seqzoo {

// lengths [B] int64 -> [B,S] bool, true where position < length (a real, unpadded token).
torch::Tensor length_mask(const torch::Tensor& lengths, int64_t max_len);

}  // namespace seqzoo
