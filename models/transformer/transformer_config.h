#pragma once
// The Transformer family's own options: model.transformer.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "data/common/config_fields.h"

namespace seqzoo {

struct TransformerConfig {
  static constexpr const char* kSection = "transformer";
  static constexpr const char* kDoc = "Transformer (family transformer)";
  int64_t d_model = 256, ffn_dim = 1024, heads = 4;          // widths (doc and ranges in visit())
  int64_t encoder_layers = 3, decoder_layers = 3;
  bool pre_norm = true;
  double attention_dropout = 0.0, activation_dropout = 0.0;
  std::string activation = "relu";

  void visit(FieldVisitor& v) {
    v.field("d_model", d_model, "model width (embedding size)", Range::at_least(1));
    v.field("ffn_dim", ffn_dim, "feed-forward inner size", Range::at_least(1));
    v.field("heads", heads, "attention heads (must divide d_model)", Range::at_least(1));
    v.field("encoder_layers", encoder_layers, "encoder blocks", Range::at_least(1));
    v.field("decoder_layers", decoder_layers, "decoder blocks", Range::at_least(1));
    v.field("pre_norm", pre_norm, "LayerNorm before each sublayer (false: after, as in Vaswani et al. 2017)");
    v.field("attention_dropout", attention_dropout, "dropout on attention weights", Range::probability());
    v.field("activation_dropout", activation_dropout, "dropout after the feed-forward activation", Range::probability());
    v.field("activation", activation, "feed-forward activation", {"relu", "gelu"});
  }
  void check() const {
    if (heads > 0 && d_model % heads != 0)
      throw std::invalid_argument("model.transformer.heads: must divide d_model (" + std::to_string(d_model) + " % " +
                                  std::to_string(heads) + " != 0)");
  }
};

}  // namespace seqzoo
