#include "models/rnn/rnn_model.h"

#include <stdexcept>

#include "data/batch.h"

namespace seqzoo {

RnnModelBase::RnnModelBase(const ModelConfig& config, int64_t src_vocab_size,
                           int64_t tgt_vocab_size)
    : config_(config), src_vocab_size_(src_vocab_size), tgt_vocab_size_(tgt_vocab_size) {
  if (src_vocab_size <= kEosId || tgt_vocab_size <= kEosId)
    throw std::invalid_argument("model: vocabulary sizes must exceed the special ids (got " +
                                std::to_string(src_vocab_size) + ", " +
                                std::to_string(tgt_vocab_size) + ")");

  encoder = register_module("encoder", RnnEncoder(config, src_vocab_size));
  // With one vocabulary for both sides (equal sizes) and tying on, the decoder reads the encoder's
  // embedding; it is registered once (under encoder) so optimizers see it once.
  if (config.tie_embeddings && src_vocab_size == tgt_vocab_size) {
    tgt_embed = encoder->embed;
  } else {
    tgt_embed = register_module(
        "tgt_embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(tgt_vocab_size,
                                                                      config.embed_dim)
                                              .padding_idx(kPadId)));
  }
  dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
}

void RnnModelBase::finish(int64_t output_in_dim) {
  output = register_module("output",
                           OutputLayer(output_in_dim, tgt_vocab_size_,
                                       config_.tie_embeddings ? tgt_embed : torch::nn::Embedding(nullptr)));
  init_rnn_parameters(*this, config_.init_range, config_.options<RnnConfig>().forget_bias);
  torch::NoGradGuard no_grad;
  encoder->embed->weight[kPadId].zero_();
  tgt_embed->weight[kPadId].zero_();
}

torch::Tensor RnnModelBase::embed_target(const torch::Tensor& tokens) {
  return dropout(tgt_embed(tokens));
}

void RnnModelBase::put_states(DecoderState& state, const RnnStates& s) {
  state.set("h", s.h.transpose(0, 1));  // [N,layers,H]
  if (s.c.defined()) state.set("c", s.c.transpose(0, 1));
}

RnnStates RnnModelBase::get_states(const DecoderState& state) {
  RnnStates s;
  s.h = state.at("h").transpose(0, 1).contiguous();  // [layers,N,H]
  if (state.contains("c")) s.c = state.at("c").transpose(0, 1).contiguous();
  return s;
}

}  // namespace seqzoo
