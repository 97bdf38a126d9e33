#pragma once
// DecoderState: everything a family needs between decoding steps, as a map of batch-first tensors
// (Marian models/states.h, CTranslate2 layers/decoder.h). Search expands and reorders it without
// knowing the family. Two kinds of entry, both with the batch in dim 0:
// - hypothesis entries (set): one row per hypothesis [N*beam, ...] (RNN states, self-attention
//   caches, the last attention weights); expanded and reordered row by row;
// - source entries (set_source): one row per source sentence [N, ...], the same for every
//   hypothesis of that sentence (source mask, cross-attention keys/values). They are never
//   expanded, and a reorder only touches them when sentences leave the batch; a model that reads
//   them in step() broadcasts them over the beam() hypotheses of each sentence (rows are
//   sentence-major: hypothesis row r belongs to sentence r / beam()). This keeps beam search from
//   copying the encoder side beam_size times every step (for the small Transformer at beam 5 that
//   was most of the memory traffic of a step).
#include <torch/torch.h>

#include <map>
#include <set>
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
  // A hypothesis entry [N*beam, ...] (replaces an entry of either kind).
  void set(const std::string& name, torch::Tensor value) {
    source_.erase(name);
    tensors_[name] = std::move(value);
  }
  // A source entry [N, ...] (replaces an entry of either kind).
  void set_source(const std::string& name, torch::Tensor value) {
    source_.insert(name);
    tensors_[name] = std::move(value);
  }
  bool is_source(const std::string& name) const { return source_.count(name) > 0; }
  void erase(const std::string& name) {
    source_.erase(name);
    tensors_.erase(name);
  }
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

  // Scalar step counter (position of the next token), not a tensor: same for every row.
  int64_t step = 0;

  // Hypotheses per source sentence: 1 after encode, k after repeat_interleave(k).
  int64_t beam() const { return beam_; }
  // Number of hypothesis rows (N*beam); 0 when empty.
  int64_t batch_size() const;
  // Beam expansion: every hypothesis entry's rows [N] -> [N*k], each row repeated k times
  // consecutively; source entries stay [N]; beam() is multiplied by k.
  void repeat_interleave(int64_t k);
  // Beam reorder: hypothesis entries keep rows `rows` [M*beam()] (int64, on the entries' device);
  // source entries keep sentences `sentences` [M], or stay as they are when `sentences` is
  // undefined (every sentence kept, in order). Each kept sentence's rows must come from that
  // sentence's own hypotheses (row r belongs to sentence r / beam()), which is what search does.
  void reorder(const torch::Tensor& rows, const torch::Tensor& sentences);
  // Every entry keeps rows idx [M], in that order (any reordering, duplicates allowed); afterwards
  // each row stands on its own (beam() == 1). For a state whose rows are sentences (beam() == 1)
  // or that has no source entries; std::logic_error otherwise (use reorder()).
  void index_select(const torch::Tensor& idx);

  // For models made of models (an ensemble): moves the entries named prefix + X out into a new
  // state as X (source entries stay source entries), with this state's beam() and step; absorb()
  // moves them back as prefix + X and takes the part's step.
  DecoderState extract(const std::string& prefix);
  void absorb(const std::string& prefix, DecoderState&& part);

 private:
  std::map<std::string, torch::Tensor> tensors_;
  std::set<std::string> source_;
  int64_t beam_ = 1;
};

}  // namespace seqzoo
