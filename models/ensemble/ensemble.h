#pragma once
// An ensemble of trained models behind the same interface, so that search, sampling and scoring
// serve it unchanged: each step averages the members' next-token probabilities, log(sum_i w_i p_i)
// with weights summing to 1 (as Marian and fairseq do). The members may be of different families
// (an RNN with attention next to a Transformer) as long as they read and write the same
// vocabularies; each keeps its own decoder state inside the ensemble's, under the prefix "m<i>/".
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/core/model.h"

namespace seqzoo {

class EnsembleModelImpl : public Seq2SeqModelImpl {
 public:
  // members (>= 1, the same target vocabulary), weights (empty = equal; else one per member, >= 0,
  // not all 0; normalised to sum to 1). std::invalid_argument otherwise.
  EnsembleModelImpl(std::vector<ModelPtr> members, std::vector<double> weights = {});

  // log of the weighted mean of the members' probabilities [B,T,V] (valid logits: their softmax is
  // the mean).
  torch::Tensor forward(const Batch& batch) override;
  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override;
  // log-probs [R,V] of the mixture; state "attention" [R,S] is the weighted mean of the members
  // that provide one.
  torch::Tensor step(const torch::Tensor& prev_tokens, DecoderState& state) override;
  // "ensemble(<family>+<family>...)"
  std::string family() const override;

  const std::vector<double>& weights() const { return weights_; }

 private:
  // logsumexp over members of (log_probs_i + log w_i); log_probs [M] of [..., V].
  torch::Tensor mix(const std::vector<torch::Tensor>& log_probs) const;
  std::vector<ModelPtr> members_;
  std::vector<double> weights_;
};

}  // namespace seqzoo
