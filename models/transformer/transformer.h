#pragma once
// The Transformer encoder-decoder (Vaswani et al. 2017, "Attention Is All You Need"), family
// "transformer". Embeddings scaled by sqrt(d_model) plus sinusoidal positions, N encoder and M
// decoder blocks (pre- or post-norm, models/transformer/layers.h), output projection optionally
// tied to the target embedding (Press & Wolf 2017), and to the source embedding as well when the
// vocabulary is joint (three-way tying, as in the paper, §3.4).
//
// Incremental decoding (DecoderState entries, all batch-first; N sentences, R = N * state.beam()
// hypothesis rows):
//   src_mask      [N,S] bool    source entry: true = real source token
//   cross_k_i     [N,H,S,dh]    source entry: decoder layer i's cross-attention keys, computed
//                               once in encode() and shared by a sentence's hypotheses
//   cross_v_i     [N,H,S,dh]    source entry: ... and values
//   self_k_i      [R,H,t,dh]    decoder layer i's self-attention key cache (t = state.step)
//   self_v_i      [R,H,t,dh]    ... value cache
//   attention     [R,S]         after each step: the last decoder layer's cross-attention weights,
//                               averaged over heads (sums to 1, 0 on padding)
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/model_config.h"
#include "models/transformer/transformer_config.h"
#include "models/core/model.h"
#include "models/layers/linear.h"
#include "models/layers/positional.h"
#include "models/transformer/layers.h"

namespace seqzoo {

class TransformerModelImpl : public Seq2SeqModelImpl, public TiedWeights {
 public:
  // Throws std::invalid_argument for bad sizes or options.
  TransformerModelImpl(const ModelConfig& config, int64_t src_vocab, int64_t tgt_vocab);

  torch::Tensor forward(const Batch& batch) override;  // logits [B,T,V]
  DecoderState encode(const torch::Tensor& src, const torch::Tensor& src_len) override;
  torch::Tensor step(const torch::Tensor& prev_tokens, DecoderState& state) override;  // [N,V]
  std::string family() const override { return "transformer"; }

  // The pieces forward() is made of.
  // src [B,S] int64, src_bias [B,1,1,S] (key_padding_bias) -> memory [B,S,D]
  torch::Tensor encode_memory(const torch::Tensor& src, const torch::Tensor& src_bias);
  // tgt_in [B,T], memory [B,S,D], src_bias [B,1,1,S] -> decoder output [B,T,D] (after final norm)
  torch::Tensor decode(const torch::Tensor& tgt_in, const torch::Tensor& memory,
                       const torch::Tensor& src_bias);
  // hidden [...,D] -> logits [...,V]
  torch::Tensor project_output(const torch::Tensor& hidden);

  bool ties_output() const { return tie_output_; }
  // The target embedding's matrix [V,D] when the output layer is tied to it (packed for inference).
  std::vector<torch::Tensor> tied_weights() const override;
  bool shares_source_embedding() const { return share_source_; }
  int64_t d_model() const { return options_.d_model; }
  int64_t heads() const { return options_.heads; }

  torch::nn::Embedding src_embed{nullptr}, tgt_embed{nullptr};  // the same module when shared
  torch::nn::Linear output_projection{nullptr};                  // only when not tied
  SinusoidalPositionalEncoding positional{nullptr};
  torch::nn::ModuleList encoder_layers{nullptr}, decoder_layers{nullptr};
  torch::nn::LayerNorm encoder_norm{nullptr}, decoder_norm{nullptr};  // only for pre-norm stacks

 private:
  torch::Tensor embed(torch::nn::Embedding& table, const torch::Tensor& tokens,
                      int64_t offset);  // [B,T] -> [B,T,D]

  TransformerLayerOptions options_;
  double embed_scale_;
  bool tie_output_, share_source_;
  std::vector<TransformerEncoderLayer> enc_;  // typed views of encoder_layers
  std::vector<TransformerDecoderLayer> dec_;  // typed views of decoder_layers
};

// Registry factory (models/core/registry.cpp).
ModelPtr make_transformer(const ModelConfig& config, int64_t src_vocab, int64_t tgt_vocab);

}  // namespace seqzoo
