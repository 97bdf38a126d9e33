#include "models/rnn/encoder.h"

#include "models/layers/linear.h"

#include <stdexcept>

#include "data/batch.h"

namespace seqzoo {

namespace {

// [layers*2,N,H] -> per layer tanh(W_l [fwd; bwd] + b_l) -> [layers,N,H].
torch::Tensor bridge(const torch::Tensor& states, torch::nn::ModuleList& linears) {
  const int64_t layers = static_cast<int64_t>(linears->size());
  auto s = states.view({layers, 2, states.size(1), states.size(2)});
  std::vector<torch::Tensor> out;
  out.reserve(layers);
  for (int64_t l = 0; l < layers; ++l) {
    auto both = torch::cat({s[l][0], s[l][1]}, -1);  // [N,2H]
    out.push_back(torch::tanh(linear(*linears[l]->as<torch::nn::Linear>(), both)));
  }
  return torch::stack(out, 0);
}

}  // namespace

torch::Tensor reversal_index(const torch::Tensor& src_len, int64_t max_len) {
  auto pos = torch::arange(max_len, src_len.options().dtype(torch::kInt64)).unsqueeze(0);  // [1,S]
  auto len = src_len.to(torch::kInt64).unsqueeze(1);                                       // [N,1]
  return torch::where(pos < len, len - 1 - pos, pos.expand({len.size(0), max_len}));
}


RnnEncoderImpl::RnnEncoderImpl(const ModelConfig& config, int64_t src_vocab_size)
    : reverse_source_(config.options<RnnConfig>().reverse_source) {
  if (src_vocab_size <= kEosId)
    throw std::invalid_argument("encoder: source vocabulary too small (" +
                                std::to_string(src_vocab_size) + ")");
  embed = register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(
                                                            src_vocab_size, config.embed_dim)
                                                            .padding_idx(kPadId)));
  dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
  const auto& r = config.options<RnnConfig>();
  rnn = register_module("rnn", Recurrent(r.cell, config.embed_dim, r.hidden_dim, r.layers,
                                         config.dropout, r.bidirectional));
  if (r.bidirectional) {
    bridge_h = register_module("bridge_h", torch::nn::ModuleList());
    for (int64_t l = 0; l < r.layers; ++l)
      bridge_h->push_back(torch::nn::Linear(2 * r.hidden_dim, r.hidden_dim));
    if (rnn->is_lstm()) {
      bridge_c = register_module("bridge_c", torch::nn::ModuleList());
      for (int64_t l = 0; l < r.layers; ++l)
        bridge_c->push_back(torch::nn::Linear(2 * r.hidden_dim, r.hidden_dim));
    }
  }
}

EncoderOutput RnnEncoderImpl::forward(const torch::Tensor& src, const torch::Tensor& src_len) {
  if (src.dim() != 2 || src_len.dim() != 1 || src_len.size(0) != src.size(0))
    throw std::invalid_argument("encoder: expected src [N,S] and src_len [N]");
  const int64_t max_len = src.size(1);
  torch::Tensor rev;
  torch::Tensor tokens = src;
  if (reverse_source_) {
    rev = reversal_index(src_len.to(src.device()), max_len);  // [N,S]
    tokens = src.gather(1, rev);
  }
  auto x = dropout(embed(tokens));                        // [N,S,E]
  auto result = rnn->forward_padded(x, src_len);
  EncoderOutput out;
  out.memory = std::get<0>(result);                       // [N,S,H_enc]
  if (reverse_source_)
    out.memory = out.memory.gather(1, rev.unsqueeze(-1).expand_as(out.memory));
  out.src_mask = length_mask(src_len.to(src.device()), max_len);
  out.final = std::get<1>(result);
  if (bridge_h) {
    out.final.h = bridge(out.final.h, bridge_h);
    if (bridge_c) out.final.c = bridge(out.final.c, bridge_c);
  }
  return out;
}

}  // namespace seqzoo
