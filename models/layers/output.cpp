#include "models/layers/output.h"

#include "models/layers/linear.h"

#include <stdexcept>

namespace seqzoo {

OutputLayerImpl::OutputLayerImpl(int64_t in_dim, int64_t vocab_size, torch::nn::Embedding tied)
    : tied_(std::move(tied)) {
  if (in_dim <= 0 || vocab_size <= 0)
    throw std::invalid_argument("output layer: sizes must be positive");
  if (tied_) {
    const auto& w = tied_->weight;  // [V,E]
    if (w.size(0) != vocab_size)
      throw std::invalid_argument("output layer: tied embedding has " +
                                  std::to_string(w.size(0)) + " rows, vocabulary has " +
                                  std::to_string(vocab_size));
    if (w.size(1) != in_dim)
      proj = register_module(
          "proj", torch::nn::Linear(torch::nn::LinearOptions(in_dim, w.size(1)).bias(false)));
    bias = register_parameter("bias", torch::zeros({vocab_size}));
  } else {
    out = register_module("out", torch::nn::Linear(in_dim, vocab_size));
  }
}

std::vector<torch::Tensor> OutputLayerImpl::tied_weights() const {
  if (!tied_) return {};
  return {tied_->weight};
}

torch::Tensor OutputLayerImpl::forward(const torch::Tensor& x) {
  if (!tied_) return linear(out, x);
  return seqzoo::linear(proj ? linear(proj, x) : x, tied_->weight, bias);
}

}  // namespace seqzoo
