#include "models/layers/attention.h"

#include "models/layers/linear.h"

#include <limits>
#include <stdexcept>

namespace seqzoo {

namespace F = torch::nn::functional;

namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// v^T tanh(keys + q): keys [N,S,A], q [N,T,A] -> [N,T,S].
torch::Tensor additive(const torch::Tensor& keys, const torch::Tensor& q, torch::nn::Linear& v) {
  auto hidden = torch::tanh(keys.unsqueeze(1) + q.unsqueeze(2));  // [N,T,S,A]
  return v(hidden).squeeze(-1);                                   // [N,T,S]
}

}  // namespace

// ---- Bahdanau ----
BahdanauScorerImpl::BahdanauScorerImpl(int64_t enc_dim, int64_t dec_dim, int64_t attention_dim) {
  w_enc = register_module("w_enc", make_linear(enc_dim, attention_dim, false));
  w_dec = register_module("w_dec", make_linear(dec_dim, attention_dim, false));
  v = register_module("v", make_linear(attention_dim, 1, false));
}

torch::Tensor BahdanauScorerImpl::project_keys(const torch::Tensor& memory) {
  return linear(w_enc, memory);
}

torch::Tensor BahdanauScorerImpl::score(const torch::Tensor& query, const torch::Tensor& keys) {
  return additive(keys, linear(w_dec, query), v);
}

// ---- dot ----
DotScorerImpl::DotScorerImpl(int64_t enc_dim, int64_t dec_dim) {
  if (enc_dim != dec_dim) proj = register_module("proj", make_linear(enc_dim, dec_dim, false));
}

torch::Tensor DotScorerImpl::project_keys(const torch::Tensor& memory) {
  return proj ? linear(proj, memory) : memory;
}

torch::Tensor DotScorerImpl::score(const torch::Tensor& query, const torch::Tensor& keys) {
  return torch::bmm(query, keys.transpose(1, 2));  // [N,T,H] x [N,H,S]
}

// ---- general ----
GeneralScorerImpl::GeneralScorerImpl(int64_t enc_dim, int64_t dec_dim) {
  w = register_module("w", make_linear(enc_dim, dec_dim, false));
}

torch::Tensor GeneralScorerImpl::project_keys(const torch::Tensor& memory) { return linear(w, memory); }

torch::Tensor GeneralScorerImpl::score(const torch::Tensor& query, const torch::Tensor& keys) {
  return torch::bmm(query, keys.transpose(1, 2));  // s^T (W h_enc)
}

// ---- concat ----
ConcatScorerImpl::ConcatScorerImpl(int64_t enc_dim_, int64_t dec_dim, int64_t attention_dim)
    : enc_dim(enc_dim_) {
  w = register_module("w", make_linear(enc_dim_ + dec_dim, attention_dim, true));
  v = register_module("v", make_linear(attention_dim, 1, false));
}

torch::Tensor ConcatScorerImpl::project_keys(const torch::Tensor& memory) {
  // W [h; s] + b = W_h h + W_s s + b: the encoder block (with the bias) once per sentence.
  return F::linear(memory, w->weight.narrow(1, 0, enc_dim), w->bias);
}

torch::Tensor ConcatScorerImpl::score(const torch::Tensor& query, const torch::Tensor& keys) {
  auto q = F::linear(query, w->weight.narrow(1, enc_dim, w->weight.size(1) - enc_dim));
  return additive(keys, q, v);
}

AttentionScorerPtr make_attention_scorer(const std::string& type, int64_t enc_dim, int64_t dec_dim,
                                         int64_t attention_dim) {
  if (enc_dim <= 0 || dec_dim <= 0)
    throw std::invalid_argument("attention: encoder and decoder sizes must be positive");
  if (attention_dim <= 0) attention_dim = dec_dim;
  if (type == "bahdanau") return BahdanauScorer(enc_dim, dec_dim, attention_dim).ptr();
  if (type == "dot") return DotScorer(enc_dim, dec_dim).ptr();
  if (type == "general") return GeneralScorer(enc_dim, dec_dim).ptr();
  if (type == "concat") return ConcatScorer(enc_dim, dec_dim, attention_dim).ptr();
  throw std::invalid_argument("model.attention.type: unknown scorer '" + type +
                              "' (known: bahdanau, dot, general, concat)");
}

torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& mask) {
  auto masked = scores.masked_fill(mask.logical_not().unsqueeze(1),
                                   -std::numeric_limits<double>::infinity());
  return torch::softmax(masked, -1);
}

}  // namespace seqzoo
