#pragma once
// Output layer: decoder features [..., D] -> vocabulary logits [..., V].
// Untied: Linear(D -> V). Tied to a target embedding [V,E] (Press & Wolf 2017; Inan et al. 2017):
// logits = W_emb x' + b with x' = x when D == E, else x' = P x (a bias-free projection D -> E).
// The tied weight is read from the embedding module at every call and is not registered here, so
// it appears once in parameters() (an optimizer would otherwise update it twice).
#include <torch/torch.h>

#include <vector>

#include "models/layers/linear.h"

namespace seqzoo {

class OutputLayerImpl : public torch::nn::Module, public TiedWeights {
 public:
  // tied: the target embedding to share, or an empty holder (nullptr) for an untied layer.
  OutputLayerImpl(int64_t in_dim, int64_t vocab_size, torch::nn::Embedding tied = nullptr);
  torch::Tensor forward(const torch::Tensor& x);  // [..., D] -> [..., V]
  bool tied() const { return static_cast<bool>(tied_); }
  // The tied embedding's matrix [V,E] (empty when untied): packed for inference (linear.h).
  std::vector<torch::Tensor> tied_weights() const override;

  torch::nn::Linear out{nullptr};    // untied: D -> V
  torch::nn::Linear proj{nullptr};   // tied with D != E: D -> E, no bias
  torch::Tensor bias;                // tied: [V]

 private:
  torch::nn::Embedding tied_{nullptr};
};
TORCH_MODULE(OutputLayer);

}  // namespace seqzoo
