#include "models/transformer/transformer.h"

#include "models/layers/linear.h"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "models/layers/dropout.h"

namespace seqzoo {

namespace {

// Embedding table with normal(0, d^-0.5) initialisation and a zero padding row (fairseq).
torch::nn::Embedding make_embedding(int64_t vocab, int64_t d) {
  torch::nn::Embedding e(torch::nn::EmbeddingOptions(vocab, d).padding_idx(kPadId));
  torch::NoGradGuard no_grad;
  e->weight.normal_(0.0, std::pow(static_cast<double>(d), -0.5));
  e->weight[kPadId].zero_();
  return e;
}

std::string layer_key(const char* name, size_t i) { return name + std::to_string(i); }

}  // namespace

TransformerModelImpl::TransformerModelImpl(const ModelConfig& config, int64_t src_vocab,
                                           int64_t tgt_vocab)
    : options_(TransformerLayerOptions::from(config)) {
  const auto& tc = config.options<TransformerConfig>();
  if (src_vocab <= kEosId || tgt_vocab <= kEosId)
    throw std::invalid_argument("transformer: vocabulary sizes must exceed the special ids (got " +
                                std::to_string(src_vocab) + ", " + std::to_string(tgt_vocab) + ")");
  const int64_t d = options_.d_model;
  embed_scale_ = std::sqrt(static_cast<double>(d));
  tie_output_ = config.tie_embeddings;
  share_source_ = config.tie_embeddings && src_vocab == tgt_vocab;

  if (share_source_) {  // one table for source, target and output
    src_embed = register_module("embed_tokens", make_embedding(src_vocab, d));
    tgt_embed = src_embed;
  } else {
    src_embed = register_module("src_embed", make_embedding(src_vocab, d));
    tgt_embed = register_module("tgt_embed", make_embedding(tgt_vocab, d));
  }
  if (!tie_output_) {
    output_projection = register_module(
        "output_projection", torch::nn::Linear(torch::nn::LinearOptions(d, tgt_vocab).bias(false)));
    torch::NoGradGuard no_grad;
    output_projection->weight.normal_(0.0, std::pow(static_cast<double>(d), -0.5));
  }
  positional = register_module("positional", SinusoidalPositionalEncoding(d));

  encoder_layers = register_module("encoder_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < tc.encoder_layers; ++i) {
    enc_.emplace_back(options_);
    encoder_layers->push_back(enc_.back());
  }
  decoder_layers = register_module("decoder_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < tc.decoder_layers; ++i) {
    dec_.emplace_back(options_);
    decoder_layers->push_back(dec_.back());
  }
  if (options_.pre_norm) {
    encoder_norm = register_module("encoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    decoder_norm = register_module("decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  }
}

torch::Tensor TransformerModelImpl::embed(torch::nn::Embedding& table,
                                          const torch::Tensor& tokens, int64_t offset) {
  // tokens [B,T] -> sqrt(d) * E[tokens] + PE[offset ..] : [B,T,D]
  auto x = positional->forward(table->forward(tokens), offset, embed_scale_);
  return fast_dropout(x, options_.dropout, is_training());
}

torch::Tensor TransformerModelImpl::encode_memory(const torch::Tensor& src,
                                                  const torch::Tensor& src_bias) {
  auto x = embed(src_embed, src, 0);  // [B,S,D]
  for (auto& layer : enc_) x = layer->forward(x, src_bias);
  if (encoder_norm) x = encoder_norm->forward(x);
  return x;
}

torch::Tensor TransformerModelImpl::decode(const torch::Tensor& tgt_in, const torch::Tensor& memory,
                                           const torch::Tensor& src_bias) {
  auto x = embed(tgt_embed, tgt_in, 0);  // [B,T,D]
  for (auto& layer : dec_) {
    auto kv = layer->cross_attn->project_kv(memory);  // [B,H,S,dh] each
    x = layer->forward(x, kv.first, kv.second, src_bias);
  }
  if (decoder_norm) x = decoder_norm->forward(x);
  return x;
}

std::vector<torch::Tensor> TransformerModelImpl::tied_weights() const {
  if (!tie_output_) return {};
  return {tgt_embed->weight};
}

torch::Tensor TransformerModelImpl::project_output(const torch::Tensor& hidden) {
  // [...,D] -> [...,V]; tied: the target embedding matrix is the output matrix.
  return tie_output_ ? seqzoo::linear(hidden, tgt_embed->weight) : linear(output_projection, hidden);
}

namespace {

torch::Tensor source_valid(const torch::Tensor& src, const torch::Tensor& src_len) {
  // [B,S] bool, true = real token (from the lengths; from the padding id when none are given)
  return src_len.defined() ? length_mask(src_len.to(src.device()), src.size(1)) : src.ne(kPadId);
}

}  // namespace

torch::Tensor TransformerModelImpl::forward(const Batch& batch) {
  if (!batch.src.defined() || !batch.tgt_in.defined())
    throw std::invalid_argument("transformer: the batch needs src and tgt_in");
  auto valid = source_valid(batch.src, batch.src_len);  // [B,S]
  auto bias = key_padding_bias(valid, src_embed->weight.scalar_type());  // [B,1,1,S]
  auto memory = encode_memory(batch.src, bias);                 // [B,S,D]
  return project_output(decode(batch.tgt_in, memory, bias));    // [B,T,V]
}

DecoderState TransformerModelImpl::encode(const torch::Tensor& src, const torch::Tensor& src_len) {
  auto valid = source_valid(src, src_len);  // [N,S]
  auto bias = key_padding_bias(valid, src_embed->weight.scalar_type());
  auto memory = encode_memory(src, bias);  // [N,S,D]
  DecoderState state;
  state.set_source("src_mask", valid);
  const int64_t n = src.size(0);
  for (size_t i = 0; i < dec_.size(); ++i) {
    auto& attn = dec_[i]->cross_attn;
    auto kv = attn->project_kv(memory);  // [N,H,S,dh], contiguous so each step reads them directly
    state.set_source(layer_key("cross_k_", i), kv.first.contiguous());
    state.set_source(layer_key("cross_v_", i), kv.second.contiguous());
    auto empty = torch::empty({n, attn->heads(), 0, attn->head_dim()}, memory.options());
    state.set(layer_key("self_k_", i), empty);
    state.set(layer_key("self_v_", i), empty);
  }
  state.step = 0;
  return state;
}

torch::Tensor TransformerModelImpl::step(const torch::Tensor& prev_tokens, DecoderState& state) {
  // prev_tokens [R] (R = N * state.beam() hypothesis rows) -> x [R,1,D] at position state.step
  auto x = embed(tgt_embed, prev_tokens.view({-1, 1}), state.step);
  auto bias = key_padding_bias(state.at("src_mask"), x.scalar_type());  // [N,1,1,S] per sentence
  torch::Tensor weights;  // [R,1,S]
  // With the entry "keep_head_attention" in the state, every layer's per-head cross-attention
  // is stored too: "head_attention" [R,L,H,S] (for plots; costs the fused attention kernels).
  const bool keep_heads = state.contains("keep_head_attention");
  std::vector<torch::Tensor> heads;  // L x [R,H,S]
  for (size_t i = 0; i < dec_.size(); ++i) {
    const auto kk = layer_key("self_k_", i), vk = layer_key("self_v_", i);
    torch::Tensor k = state.get(kk), v = state.get(vk), layer_heads;
    x = dec_[i]->step(x, k, v, state.at(layer_key("cross_k_", i)), state.at(layer_key("cross_v_", i)),
                      bias, i + 1 == dec_.size() ? &weights : nullptr, keep_heads ? &layer_heads : nullptr);
    if (keep_heads) heads.push_back(layer_heads);
    state.set(kk, std::move(k));
    state.set(vk, std::move(v));
  }
  if (keep_heads) state.set("head_attention", torch::stack(heads, 1));  // [R,L,H,S]
  if (decoder_norm) x = decoder_norm->forward(x);
  state.set("attention", weights.squeeze(1));  // [R,S]
  state.step += 1;
  return torch::log_softmax(project_output(x.squeeze(1)), -1);  // [R,V]
}

ModelPtr make_transformer(const ModelConfig& config, int64_t src_vocab, int64_t tgt_vocab) {
  return std::make_shared<TransformerModelImpl>(config, src_vocab, tgt_vocab);
}

}  // namespace seqzoo
