#pragma once
// The RNN families' own options: model.rnn (encoder/decoder RNNs of seq2seq and attention) and
// model.attention (the attention family's scorer).
#include <cstdint>
#include <string>

#include "data/common/config_fields.h"

namespace seqzoo {

struct RnnConfig {
  static constexpr const char* kSection = "rnn";
  static constexpr const char* kDoc = "RNN encoder/decoder (families seq2seq and attention)";
  std::string cell = "lstm";
  int64_t hidden_dim = 512;
  int64_t layers = 2;
  bool bidirectional = false;
  bool reverse_source = false;
  bool context_every_step = false;
  double forget_bias = 1.0;

  void visit(FieldVisitor& v) {
    v.field("cell", cell, "recurrent cell", {"lstm", "gru"});
    v.field("hidden_dim", hidden_dim, "hidden size of the encoder and decoder RNNs", Range::at_least(1));
    v.field("layers", layers, "stacked RNN layers (encoder and decoder)", Range::at_least(1));
    v.field("bidirectional", bidirectional, "bidirectional encoder; final states bridged to the decoder size");
    v.field("reverse_source", reverse_source, "feed the source reversed (Sutskever et al. 2014)");
    v.field("context_every_step", context_every_step,
            "seq2seq: feed the encoder context at every decoder step (Cho et al. 2014)");
    v.field("forget_bias", forget_bias,
            "LSTM forget-gate bias at initialisation (Gers et al. 2000; Jozefowicz et al. 2015)");
  }
  void check() const {}
};

struct AttentionConfig {
  static constexpr const char* kSection = "attention";
  static constexpr const char* kDoc = "attention scorer (family attention)";
  std::string type = "bahdanau";
  int64_t attention_dim = 0;
  bool input_feeding = true;
  std::string ordering = "luong";

  void visit(FieldVisitor& v) {
    v.field("type", type, "scorer: bahdanau (additive), or Luong's dot | general | concat",
            {"bahdanau", "dot", "general", "concat"});
    v.field("attention_dim", attention_dim, "additive/concat scorer size (0 = rnn.hidden_dim)", Range::non_negative());
    v.field("input_feeding", input_feeding,
            "feed the previous attentional vector into the next step (Luong et al. 2015)");
    v.field("ordering", ordering,
            "luong: the current state queries, [context; state] -> tanh layer -> output (Luong et al. 2015); "
            "bahdanau: the previous state queries, the context joins the RNN input, deep output with maxout "
            "(Bahdanau et al. 2015; input_feeding does not apply)",
            {"luong", "bahdanau"});
  }
  void check() const {}
};

}  // namespace seqzoo
