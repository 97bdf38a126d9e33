#pragma once
// Transformer encoder and decoder blocks (Vaswani et al. 2017, §3.1), in two variants:
//   post-norm (the paper):  x = LN(x + Dropout(Sublayer(x)))
//   pre-norm (Wang et al. 2019, "Learning Deep Transformer Models for MT"):
//                           x = x + Dropout(Sublayer(LN(x)))   (the stack then ends with a LayerNorm)
// Sublayers: multi-head attention, and the position-wise feed-forward network
//   FFN(x) = W2 ActDropout(act(W1 x + b1)) + b2,  act = relu | gelu.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "models/core/model_config.h"
#include "models/transformer/transformer_config.h"
#include "models/layers/multihead_attention.h"

namespace seqzoo {

struct TransformerLayerOptions {
  int64_t d_model = 256, heads = 4, ffn_dim = 1024;
  double dropout = 0.1;             // on sublayer outputs (before the residual sum)
  double attention_dropout = 0.0;   // on attention weights
  double activation_dropout = 0.0;  // after the FFN activation
  std::string activation = "relu";  // relu | gelu
  bool pre_norm = true;

  static TransformerLayerOptions from(const ModelConfig& config);
  void validate() const;  // throws std::invalid_argument
};

// Position-wise feed-forward network with its activation.
class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(const TransformerLayerOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // [...,D] -> [...,D]
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  bool gelu_;
  double activation_dropout_;
};
TORCH_MODULE(FeedForward);

class TransformerEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerEncoderLayerImpl(const TransformerLayerOptions& options);
  // x [B,S,D]; src_bias: additive key mask broadcastable to [B,H,S,S] (key_padding_bias) or
  // undefined. Returns [B,S,D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& src_bias = {});

  MultiheadAttention self_attn{nullptr};
  FeedForward ffn{nullptr};
  torch::nn::LayerNorm self_attn_norm{nullptr}, ffn_norm{nullptr};

 private:
  TransformerLayerOptions options_;
};
TORCH_MODULE(TransformerEncoderLayer);

class TransformerDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerDecoderLayerImpl(const TransformerLayerOptions& options);

  // Teacher forcing: x [B,T,D] with causal self-attention; cross_k, cross_v [B,H,S,dh] (from
  // cross_attn->project_kv(memory)); src_bias broadcastable to [B,H,T,S]. Returns [B,T,D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cross_k,
                        const torch::Tensor& cross_v, const torch::Tensor& src_bias);

  // One incremental step: x [R,1,D] at the newest position, R = N*k hypothesis rows
  // (sentence-major) of N sentences. self_k, self_v [R,H,t,dh] hold the previous positions'
  // keys/values and are replaced by [R,H,t+1,dh]. cross_k, cross_v [N,H,S,dh] and src_bias
  // [N,1,1,S] are per sentence: the k hypotheses of a sentence attend as k queries of one
  // attention call. When `weights` is given it receives the head-averaged cross-attention
  // weights [R,1,S], and `head_weights` each head's [R,H,S]. Returns [R,1,D].
  torch::Tensor step(const torch::Tensor& x, torch::Tensor& self_k, torch::Tensor& self_v,
                     const torch::Tensor& cross_k, const torch::Tensor& cross_v,
                     const torch::Tensor& src_bias, torch::Tensor* weights = nullptr,
                     torch::Tensor* head_weights = nullptr);

  MultiheadAttention self_attn{nullptr}, cross_attn{nullptr};
  FeedForward ffn{nullptr};
  torch::nn::LayerNorm self_attn_norm{nullptr}, cross_attn_norm{nullptr}, ffn_norm{nullptr};

 private:
  TransformerLayerOptions options_;
};
TORCH_MODULE(TransformerDecoderLayer);

}  // namespace seqzoo
