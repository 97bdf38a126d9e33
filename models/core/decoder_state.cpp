#include "models/core/decoder_state.h"

#include <stdexcept>

namespace seqzoo {

const torch::Tensor& DecoderState::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::out_of_range("DecoderState has no entry '" + name + "'");
  return it->second;
}

int64_t DecoderState::batch_size() const {
  int64_t sentences = 0;
  for (const auto& kv : tensors_) {
    if (!kv.second.defined() || kv.second.dim() == 0) continue;
    if (!is_source(kv.first)) return kv.second.size(0);
    sentences = kv.second.size(0);
  }
  return sentences * beam_;
}

void DecoderState::repeat_interleave(int64_t k) {
  if (k < 1) throw std::invalid_argument("DecoderState::repeat_interleave: k must be >= 1");
  for (auto& kv : tensors_)
    if (kv.second.defined() && kv.second.dim() > 0 && !is_source(kv.first))
      kv.second = kv.second.repeat_interleave(k, /*dim=*/0);
  beam_ *= k;
}

void DecoderState::reorder(const torch::Tensor& rows, const torch::Tensor& sentences) {
  if (sentences.defined() && rows.size(0) != sentences.size(0) * beam_)
    throw std::invalid_argument("DecoderState::reorder: " + std::to_string(rows.size(0)) +
                                " rows for " + std::to_string(sentences.size(0)) +
                                " sentences of beam " + std::to_string(beam_));
  for (auto& kv : tensors_) {
    if (!kv.second.defined() || kv.second.dim() == 0) continue;
    if (!is_source(kv.first))
      kv.second = kv.second.index_select(0, rows);
    else if (sentences.defined())
      kv.second = kv.second.index_select(0, sentences);
  }
}

void DecoderState::index_select(const torch::Tensor& idx) {
  if (beam_ != 1 && !source_.empty())
    throw std::logic_error("DecoderState::index_select on a beam-expanded state with source "
                           "entries (beam " + std::to_string(beam_) + "): use reorder()");
  for (auto& kv : tensors_)
    if (kv.second.defined() && kv.second.dim() > 0) kv.second = kv.second.index_select(0, idx);
  beam_ = 1;  // every row is now on its own
}

DecoderState DecoderState::extract(const std::string& prefix) {
  DecoderState part;
  part.beam_ = beam_;
  part.step = step;
  for (auto it = tensors_.begin(); it != tensors_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) {
      ++it;
      continue;
    }
    const std::string name = it->first.substr(prefix.size());
    if (is_source(it->first)) part.source_.insert(name);
    source_.erase(it->first);
    part.tensors_[name] = std::move(it->second);
    it = tensors_.erase(it);
  }
  return part;
}

void DecoderState::absorb(const std::string& prefix, DecoderState&& part) {
  for (auto& kv : part.tensors_) {
    if (part.is_source(kv.first))
      set_source(prefix + kv.first, std::move(kv.second));
    else
      set(prefix + kv.first, std::move(kv.second));
  }
  step = part.step;
  part.tensors_.clear();
  part.source_.clear();
}

}  // namespace seqzoo
