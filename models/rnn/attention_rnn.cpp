#include "models/rnn/attention_rnn.h"

#include "models/layers/linear.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace seqzoo {

AttentionRnnImpl::AttentionRnnImpl(const ModelConfig& config, int64_t src_vocab_size,
                                   int64_t tgt_vocab_size)
    : RnnModelBase(config, src_vocab_size, tgt_vocab_size),
      input_feeding_(config.options<AttentionConfig>().input_feeding),
      bahdanau_order_(config.options<AttentionConfig>().ordering == "bahdanau") {
  const auto& r = config.options<RnnConfig>();
  const int64_t hidden = r.hidden_dim;
  const int64_t enc_dim = encoder->output_dim();
  if (bahdanau_order_) input_feeding_ = false;
  const int64_t rnn_in = config.embed_dim + (bahdanau_order_ ? enc_dim : (input_feeding_ ? hidden : 0));
  decoder_rnn = register_module(
      "decoder_rnn", Recurrent(r.cell, rnn_in, hidden, r.layers, config.dropout, /*bidirectional=*/false));
  scorer = register_module("scorer", make_attention_scorer(config.options<AttentionConfig>().type, enc_dim, hidden,
                                                           config.options<AttentionConfig>().attention_dim));
  if (bahdanau_order_)
    deep_out = register_module("deep_out", torch::nn::Linear(hidden + config.embed_dim + enc_dim, 2 * hidden));
  else
    combine = register_module(
        "combine", torch::nn::Linear(torch::nn::LinearOptions(enc_dim + hidden, hidden).bias(false)));
  finish(hidden);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> AttentionRnnImpl::bahdanau_output(
    const torch::Tensor& query, const torch::Tensor& embedded, const torch::Tensor& memory, const torch::Tensor& keys,
    const torch::Tensor& mask) {
  const int64_t rows = embedded.size(0);
  auto weights = masked_softmax(scorer->score(query, keys), mask);  // [N,k,S]
  auto context = torch::bmm(weights, memory).reshape({rows, -1});  // [N*k,H_enc]
  auto pre = linear(deep_out, torch::cat({query.reshape({rows, -1}), embedded, context}, -1));  // [N*k,2H]
  auto maxout = std::get<0>(pre.view({rows, -1, 2}).max(-1));                          // [N*k,H]
  return {dropout(maxout), context, weights.reshape({rows, -1})};
}

torch::Tensor AttentionRnnImpl::forward_bahdanau(const Batch& batch) {
  auto enc = encoder(batch.src, batch.src_len);
  auto keys = scorer->project_keys(enc.memory);
  auto x = embed_target(batch.tgt_in);  // [B,T,E]
  RnnStates states = enc.final;         // h [layers,B,H]
  std::vector<torch::Tensor> outs;
  for (int64_t t = 0; t < x.size(1); ++t) {
    auto query = states.h.select(0, states.h.size(0) - 1).unsqueeze(1);  // s_{t-1}^top [B,1,H]
    auto out = bahdanau_output(query, x.select(1, t), enc.memory, keys, enc.src_mask);
    outs.push_back(std::get<0>(out));
    auto in = torch::cat({x.select(1, t), std::get<1>(out)}, -1).unsqueeze(1);  // [B,1,E+H_enc]
    states = std::get<1>(decoder_rnn->forward(in, states));
  }
  return output(torch::stack(outs, 1));  // [B,T,V]
}

torch::Tensor AttentionRnnImpl::step_bahdanau(const torch::Tensor& prev_tokens, DecoderState& state) {
  auto x = embed_target(prev_tokens);  // [R,E]
  const RnnStates states = get_states(state);  // h [layers,R,H]
  const auto& memory = state.at("memory");
  auto keys = scorer->projects_keys() ? state.at("memory_proj") : memory;
  const int64_t rows = x.size(0), n = memory.size(0);
  if (n == 0 || rows % n != 0)
    throw std::invalid_argument("attention step: " + std::to_string(rows) + " hypothesis rows for " +
                                std::to_string(n) + " sentences");
  auto query = states.h.select(0, states.h.size(0) - 1).reshape({n, rows / n, -1});  // [N,k,H]
  auto out = bahdanau_output(query, x, memory, keys, state.at("src_mask"));
  auto result = decoder_rnn->forward(torch::cat({x, std::get<1>(out)}, -1).unsqueeze(1), states);
  put_states(state, std::get<1>(result));
  state.set("attention", std::get<2>(out));  // [R,S]
  ++state.step;
  return torch::log_softmax(output(std::get<0>(out)), -1);
}

std::tuple<torch::Tensor, torch::Tensor> AttentionRnnImpl::attend(const torch::Tensor& query,
                                                                  const torch::Tensor& memory,
                                                                  const torch::Tensor& keys,
                                                                  const torch::Tensor& mask) {
  auto weights = masked_softmax(scorer->score(query, keys), mask);  // [N,T,S]
  auto context = torch::bmm(weights, memory);                       // [N,T,H_enc]
  auto attentional = torch::tanh(linear(combine, torch::cat({context, query}, -1)));  // [N,T,H]
  return {attentional, weights};
}

torch::Tensor AttentionRnnImpl::forward(const Batch& batch) {
  if (!batch.tgt_in.defined())
    throw std::invalid_argument("attention forward: batch has no tgt_in");
  if (bahdanau_order_) return forward_bahdanau(batch);
  auto enc = encoder(batch.src, batch.src_len);
  auto keys = scorer->project_keys(enc.memory);
  auto x = embed_target(batch.tgt_in);  // [B,T,E]
  torch::Tensor feats;                  // [B,T,H] dropout(h~)
  if (!input_feeding_) {
    auto top = std::get<0>(decoder_rnn->forward(x, enc.final));  // [B,T,H]
    feats = dropout(std::get<0>(attend(top, enc.memory, keys, enc.src_mask)));
  } else {
    const int64_t steps = x.size(1);
    auto feed = torch::zeros({x.size(0), config_.options<RnnConfig>().hidden_dim}, enc.memory.options());
    RnnStates states = enc.final;
    std::vector<torch::Tensor> outs;
    outs.reserve(steps);
    for (int64_t t = 0; t < steps; ++t) {
      auto in = torch::cat({x.select(1, t), feed}, -1).unsqueeze(1);  // [B,1,E+H]
      auto result = decoder_rnn->forward(in, states);
      states = std::get<1>(result);
      feed = dropout(std::get<0>(attend(std::get<0>(result), enc.memory, keys, enc.src_mask)))
                 .squeeze(1);  // [B,H]
      outs.push_back(feed);
    }
    feats = torch::stack(outs, 1);
  }
  return output(feats);  // [B,T,V]
}

DecoderState AttentionRnnImpl::encode(const torch::Tensor& src, const torch::Tensor& src_len) {
  auto enc = encoder(src, src_len);
  DecoderState state;
  put_states(state, enc.final);
  // The encoder side is shared by a sentence's hypotheses: source entries, never beam-expanded.
  state.set_source("memory", enc.memory);
  if (scorer->projects_keys()) state.set_source("memory_proj", scorer->project_keys(enc.memory));
  state.set_source("src_mask", enc.src_mask);
  if (input_feeding_)
    state.set("input_feed", torch::zeros({src.size(0), config_.options<RnnConfig>().hidden_dim}, enc.memory.options()));
  state.step = 0;
  return state;
}

torch::Tensor AttentionRnnImpl::step(const torch::Tensor& prev_tokens, DecoderState& state) {
  if (bahdanau_order_) return step_bahdanau(prev_tokens, state);
  auto x = embed_target(prev_tokens);  // [N,E]
  if (input_feeding_) x = torch::cat({x, state.at("input_feed")}, -1);
  auto result = decoder_rnn->forward(x.unsqueeze(1), get_states(state));
  put_states(state, std::get<1>(result));
  const auto& memory = state.at("memory");  // [N,S,H_enc], one row per sentence
  auto keys = scorer->projects_keys() ? state.at("memory_proj") : memory;
  // [R,1,H] -> [N,k,H]: a sentence's k hypotheses are k queries over its own memory.
  const auto& top = std::get<0>(result);
  const int64_t rows = top.size(0), n = memory.size(0);
  if (n == 0 || rows % n != 0)
    throw std::invalid_argument("attention step: " + std::to_string(rows) +
                                " hypothesis rows for " + std::to_string(n) + " sentences");
  auto att = attend(top.reshape({n, rows / n, top.size(2)}), memory, keys, state.at("src_mask"));
  auto feat = dropout(std::get<0>(att)).reshape({rows, -1});  // [R,H]
  if (input_feeding_) state.set("input_feed", feat);
  state.set("attention", std::get<1>(att).reshape({rows, -1}));  // [R,S]
  ++state.step;
  return torch::log_softmax(output(feat), -1);
}

ModelPtr make_attention(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size) {
  return AttentionRnn(config, src_vocab_size, tgt_vocab_size).ptr();
}

}  // namespace seqzoo
