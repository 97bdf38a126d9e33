#pragma once
// DecoderState: everything a family needs between decoding steps, as a map of batch-first tensors
// (Marian models/states.h, CTranslate2 layers/decoder.h). Search expands and reorders it without
// knowing the family: every entry's dim 0 is the batch (or batch*beam) dimension.
#include <torch/torch.h>

#include <map>
#include <string>

namespace seqzoo {

class DecoderState {
 public:
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  const torch::Tensor& at(const std::string& name) const;  // throws std::out_of_range naming key
  torch::Tensor get(const std::string& name) const {      // undefined tensor when absent
    auto it = tensors_.find(name);
    return it == tensors_.end() ? torch::Tensor() : it->second;
  }
  void set(const std::string& name, torch::Tensor value) { tensors_[name] = std::move(value); }
  void erase(const std::string& name) { tensors_.erase(name); }
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

  // Scalar step counter (position of the next token), not a tensor: same for every row.
  int64_t step = 0;

  // Number of rows (dim 0 of the entries); 0 when empty.
  int64_t batch_size() const;
  // Every entry: rows [N] -> [N*k], each row repeated k times consecutively (beam expansion).
  void repeat_interleave(int64_t k);
  // Every entry: keep rows idx [M] (int64, on the entries' device), in that order (beam reorder).
  void index_select(const torch::Tensor& idx);

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

}  // namespace seqzoo
