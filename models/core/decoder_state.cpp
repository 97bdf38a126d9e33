#include "models/core/decoder_state.h"

#include <stdexcept>

namespace seqzoo {

const torch::Tensor& DecoderState::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::out_of_range("DecoderState has no entry '" + name + "'");
  return it->second;
}

int64_t DecoderState::batch_size() const {
  for (const auto& kv : tensors_)
    if (kv.second.defined() && kv.second.dim() > 0) return kv.second.size(0);
  return 0;
}

void DecoderState::repeat_interleave(int64_t k) {
  for (auto& kv : tensors_)
    if (kv.second.defined() && kv.second.dim() > 0)
      kv.second = kv.second.repeat_interleave(k, /*dim=*/0);
}

void DecoderState::index_select(const torch::Tensor& idx) {
  for (auto& kv : tensors_)
    if (kv.second.defined() && kv.second.dim() > 0) kv.second = kv.second.index_select(0, idx);
}

}  // namespace seqzoo
