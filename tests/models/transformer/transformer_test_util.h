#pragma once
// Shared helper for the Transformer tests: a tiny config (d_model 16, 2 heads, 2+2 layers).
#include <string>

#include "tools/app/config.h"
#include "models/transformer/transformer_config.h"

namespace seqzoo {

inline ModelConfig tiny_transformer_config(bool pre_norm, bool tie, const std::string& activation = "relu") {
  ModelConfig c;
  c.family = "transformer";
  c.dropout = 0.1;
  c.tie_embeddings = tie;
  c.options<TransformerConfig>().d_model = 16;
  c.options<TransformerConfig>().ffn_dim = 32;
  c.options<TransformerConfig>().heads = 2;
  c.options<TransformerConfig>().encoder_layers = 2;
  c.options<TransformerConfig>().decoder_layers = 2;
  c.options<TransformerConfig>().pre_norm = pre_norm;
  c.options<TransformerConfig>().attention_dropout = 0.1;
  c.options<TransformerConfig>().activation_dropout = 0.1;
  c.options<TransformerConfig>().activation = activation;
  return c;
}

}  // namespace seqzoo
