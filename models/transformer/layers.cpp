#include "models/transformer/layers.h"

#include "models/layers/linear.h"

#include <stdexcept>
#include <string>

#include "models/layers/dropout.h"

namespace seqzoo {

TransformerLayerOptions TransformerLayerOptions::from(const ModelConfig& config) {
  TransformerLayerOptions o;
  o.d_model = config.options<TransformerConfig>().d_model;
  o.heads = config.options<TransformerConfig>().heads;
  o.ffn_dim = config.options<TransformerConfig>().ffn_dim;
  o.dropout = config.dropout;
  o.attention_dropout = config.options<TransformerConfig>().attention_dropout;
  o.activation_dropout = config.options<TransformerConfig>().activation_dropout;
  o.activation = config.options<TransformerConfig>().activation;
  o.pre_norm = config.options<TransformerConfig>().pre_norm;
  o.validate();
  return o;
}

void TransformerLayerOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("model.transformer: " + what); };
  if (d_model <= 0) bad("d_model must be positive");
  if (ffn_dim <= 0) bad("ffn_dim must be positive");
  if (heads <= 0 || d_model % heads != 0)
    bad("heads (" + std::to_string(heads) + ") must divide d_model (" + std::to_string(d_model) + ")");
  auto prob = [&](double p, const char* name) {
    if (p < 0 || p >= 1) bad(std::string(name) + " must be in [0, 1)");
  };
  prob(dropout, "dropout");
  prob(attention_dropout, "attention_dropout");
  prob(activation_dropout, "activation_dropout");
  if (activation != "relu" && activation != "gelu")
    bad("activation must be relu or gelu, got '" + activation + "'");
}

namespace {

// Xavier-uniform weight, zero bias (fairseq transformer_layer.py / Vaswani et al.).
torch::nn::Linear xavier_linear(int64_t in, int64_t out) {
  torch::nn::Linear lin(in, out);
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(lin->weight);
  lin->bias.zero_();
  return lin;
}

torch::nn::LayerNorm layer_norm(int64_t d) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5));
}

}  // namespace

// ---- feed-forward ----

FeedForwardImpl::FeedForwardImpl(const TransformerLayerOptions& o)
    : gelu_(o.activation == "gelu"), activation_dropout_(o.activation_dropout) {
  fc1 = register_module("fc1", xavier_linear(o.d_model, o.ffn_dim));
  fc2 = register_module("fc2", xavier_linear(o.ffn_dim, o.d_model));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = linear(fc1, x);  // [...,F]
  // In place: the projection's backward does not need its output; relu's needs only its result.
  h = gelu_ ? torch::gelu(h) : h.relu_();
  h = fast_dropout(h, activation_dropout_, is_training());
  return linear(fc2, h);  // [...,D]
}

namespace {

// One residual sublayer, pre- or post-norm. f: the sublayer applied to its (normed) input.
template <typename F>
torch::Tensor residual(const torch::Tensor& x, torch::nn::LayerNorm& norm, bool pre_norm,
                       double dropout, bool training, F&& f) {
  auto drop = [&](const torch::Tensor& y) { return fast_dropout(y, dropout, training); };
  // The residual sum goes in place into the sublayer's fresh output (no autograd node needs it).
  // Under autocast that output is bf16/fp16 while x is fp32: the sum is then taken out of place,
  // so the residual stream (and every LayerNorm input) stays in fp32.
  auto add = [&](torch::Tensor y) { return y.scalar_type() == x.scalar_type() ? y.add_(x) : x + y; };
  if (pre_norm) return add(drop(f(norm->forward(x))));
  return norm->forward(add(drop(f(x))));
}

}  // namespace

// ---- encoder layer ----

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerLayerOptions& o)
    : options_(o) {
  o.validate();
  self_attn = register_module("self_attn",
                              MultiheadAttention(o.d_model, o.heads, o.attention_dropout, true));
  self_attn_norm = register_module("self_attn_norm", layer_norm(o.d_model));
  ffn = register_module("ffn", FeedForward(o));
  ffn_norm = register_module("ffn_norm", layer_norm(o.d_model));
}

torch::Tensor TransformerEncoderLayerImpl::forward(const torch::Tensor& x,
                                                   const torch::Tensor& src_bias) {
  const bool train = is_training();
  auto h = residual(x, self_attn_norm, options_.pre_norm, options_.dropout, train,
                    [&](const torch::Tensor& y) { return self_attn->forward(y, {}, src_bias); });
  return residual(h, ffn_norm, options_.pre_norm, options_.dropout, train,
                  [&](const torch::Tensor& y) { return ffn->forward(y); });
}

// ---- decoder layer ----

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const TransformerLayerOptions& o)
    : options_(o) {
  o.validate();
  self_attn = register_module("self_attn",
                              MultiheadAttention(o.d_model, o.heads, o.attention_dropout, true));
  self_attn_norm = register_module("self_attn_norm", layer_norm(o.d_model));
  cross_attn = register_module("cross_attn",
                               MultiheadAttention(o.d_model, o.heads, o.attention_dropout, false));
  cross_attn_norm = register_module("cross_attn_norm", layer_norm(o.d_model));
  ffn = register_module("ffn", FeedForward(o));
  ffn_norm = register_module("ffn_norm", layer_norm(o.d_model));
}

torch::Tensor TransformerDecoderLayerImpl::forward(const torch::Tensor& x,
                                                   const torch::Tensor& cross_k,
                                                   const torch::Tensor& cross_v,
                                                   const torch::Tensor& src_bias) {
  const bool train = is_training();
  const bool pre = options_.pre_norm;
  const double p = options_.dropout;
  // Causal self-attention. Target padding needs no key mask: padding comes last, so a real
  // position only ever sees real positions.
  auto h = residual(x, self_attn_norm, pre, p, train, [&](const torch::Tensor& y) {
    return self_attn->forward(y, {}, {}, /*causal=*/true);
  });
  h = residual(h, cross_attn_norm, pre, p, train, [&](const torch::Tensor& y) {
    return cross_attn->attend(cross_attn->project_q(y), cross_k, cross_v, src_bias);
  });
  return residual(h, ffn_norm, pre, p, train, [&](const torch::Tensor& y) { return ffn->forward(y); });
}

torch::Tensor TransformerDecoderLayerImpl::step(const torch::Tensor& x, torch::Tensor& self_k,
                                                torch::Tensor& self_v, const torch::Tensor& cross_k,
                                                const torch::Tensor& cross_v,
                                                const torch::Tensor& src_bias,
                                                torch::Tensor* weights, torch::Tensor* head_weights) {
  const bool train = is_training();
  const bool pre = options_.pre_norm;
  const double p = options_.dropout;
  auto h = residual(x, self_attn_norm, pre, p, train, [&](const torch::Tensor& y) {
    auto qkv = self_attn->project_qkv(y);  // each [N,H,1,dh]
    // Append this position's key/value to the cache: O(t) per step.
    self_k = self_k.defined() ? torch::cat({self_k, std::get<1>(qkv)}, 2) : std::get<1>(qkv).contiguous();
    self_v = self_v.defined() ? torch::cat({self_v, std::get<2>(qkv)}, 2) : std::get<2>(qkv).contiguous();
    return self_attn->attend(std::get<0>(qkv), self_k, self_v);  // all cached positions visible
  });
  h = residual(h, cross_attn_norm, pre, p, train, [&](const torch::Tensor& y) {
    // [R,1,D] -> [N,k,D]: a sentence's k hypotheses are k queries against its own keys/values.
    const int64_t rows = y.size(0), n = cross_k.size(0), d = y.size(2);
    if (n == 0 || rows % n != 0)
      throw std::invalid_argument("transformer step: " + std::to_string(rows) +
                                  " hypothesis rows for " + std::to_string(n) + " sentences");
    const int64_t k = rows / n;
    auto out = cross_attn->attend(cross_attn->project_q(y.reshape({n, k, d})), cross_k, cross_v,
                                  src_bias, false, weights, head_weights);  // [N,k,D]
    if (weights != nullptr) *weights = weights->reshape({rows, 1, -1});  // [R,1,S]
    // [N,H,k,S] -> [R,H,S] (row r = sentence r / k, hypothesis r % k)
    if (head_weights != nullptr) *head_weights = head_weights->transpose(1, 2).reshape({rows, -1, head_weights->size(-1)});
    return out.reshape({rows, 1, d});
  });
  return residual(h, ffn_norm, pre, p, train, [&](const torch::Tensor& y) { return ffn->forward(y); });
}

}  // namespace seqzoo
