#include "models/rnn/seq2seq.h"

#include <stdexcept>

namespace seqzoo {

Seq2SeqRnnImpl::Seq2SeqRnnImpl(const ModelConfig& config, int64_t src_vocab_size,
                               int64_t tgt_vocab_size)
    : RnnModelBase(config, src_vocab_size, tgt_vocab_size),
      context_every_step_(config.options<RnnConfig>().context_every_step) {
  const auto& r = config.options<RnnConfig>();
  const int64_t ctx = context_every_step_ ? r.hidden_dim : 0;
  decoder_rnn = register_module("decoder_rnn", Recurrent(r.cell, config.embed_dim + ctx,
                                                         r.hidden_dim, r.layers, config.dropout,
                                                         /*bidirectional=*/false));
  finish(r.hidden_dim + ctx);
}

torch::Tensor Seq2SeqRnnImpl::decode(const torch::Tensor& tgt, RnnStates& states,
                                     const torch::Tensor& context) {
  auto x = embed_target(tgt);  // [N,T,E]
  torch::Tensor ctx;
  if (context_every_step_) {
    ctx = context.unsqueeze(1).expand({x.size(0), x.size(1), context.size(-1)});  // [N,T,H]
    x = torch::cat({x, ctx}, -1);
  }
  auto result = decoder_rnn->forward(x, states);
  states = std::get<1>(result);
  auto feat = std::get<0>(result);  // [N,T,H]
  if (context_every_step_) feat = torch::cat({feat, ctx}, -1);
  return output(dropout(feat));     // [N,T,V]
}

torch::Tensor Seq2SeqRnnImpl::forward(const Batch& batch) {
  if (!batch.tgt_in.defined()) throw std::invalid_argument("seq2seq forward: batch has no tgt_in");
  auto enc = encoder(batch.src, batch.src_len);
  torch::Tensor context;
  if (context_every_step_) context = enc.final.h[-1];  // [B,H]
  return decode(batch.tgt_in, enc.final, context);
}

DecoderState Seq2SeqRnnImpl::encode(const torch::Tensor& src, const torch::Tensor& src_len) {
  auto enc = encoder(src, src_len);
  DecoderState state;
  put_states(state, enc.final);
  if (context_every_step_) state.set("context", enc.final.h[-1]);  // [N,H]
  state.step = 0;
  return state;
}

torch::Tensor Seq2SeqRnnImpl::step(const torch::Tensor& prev_tokens, DecoderState& state) {
  auto states = get_states(state);
  auto logits = decode(prev_tokens.unsqueeze(1), states, state.get("context"));  // [N,1,V]
  put_states(state, states);
  ++state.step;
  return torch::log_softmax(logits.squeeze(1), -1);
}

ModelPtr make_seq2seq(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size) {
  return Seq2SeqRnn(config, src_vocab_size, tgt_vocab_size).ptr();
}

}  // namespace seqzoo
