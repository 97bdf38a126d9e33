#pragma once
// Shared helper for the Transformer tests: a tiny config (d_model 16, 2 heads, 2+2 layers).
#include <string>

#include "models/core/config.h"

namespace seqzoo {

inline ModelConfig tiny_transformer_config(bool pre_norm, bool tie, const std::string& activation = "relu") {
  ModelConfig c;
  c.family = "transformer";
  c.dropout = 0.1;
  c.tie_embeddings = tie;
  c.transformer.d_model = 16;
  c.transformer.ffn_dim = 32;
  c.transformer.heads = 2;
  c.transformer.encoder_layers = 2;
  c.transformer.decoder_layers = 2;
  c.transformer.pre_norm = pre_norm;
  c.transformer.attention_dropout = 0.1;
  c.transformer.activation_dropout = 0.1;
  c.transformer.activation = activation;
  return c;
}

}  // namespace seqzoo
