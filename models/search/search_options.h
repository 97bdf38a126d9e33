#pragma once
// The search's options (`search:` in a config, and the decoding flags of seqzoo-translate and
// seqzoo-evaluate, which are generated from visit()).
#include <cstdint>
#include <string>

#include "data/common/config_fields.h"

namespace seqzoo {

struct SearchOptions {
  int64_t beam_size = 5;                                     // doc and ranges in visit()
  double alpha = 0.6;
  std::string length_norm = "gnmt";
  double max_len_a = 1.5;
  int64_t max_len_b = 10, nbest = 1;
  int64_t batch_tokens = 4000, max_input_tokens = 256;
  // Not a config key: collect state "attention" per output token (alignments, plots).
  bool keep_attention = false;

  void visit(FieldVisitor& v) {
    v.field("beam_size", beam_size, "beam size (1 = greedy)", Range::at_least(1));
    v.field("alpha", alpha, "length penalty exponent (GNMT, Wu et al. 2016)", Range::non_negative());
    v.field("length_norm", length_norm, "length normalisation of scores", {"gnmt", "average", "none"});
    v.field("max_len_a", max_len_a, "max output length = a * source length + b", Range::non_negative());
    v.field("max_len_b", max_len_b, "max output length = a * source length + b", Range::non_negative());
    v.field("nbest", nbest, "hypotheses returned per sentence (<= beam_size)", Range::at_least(1));
    v.field("batch_tokens", batch_tokens, "source-token budget per decoding batch", Range::at_least(1));
    v.field("max_input_tokens", max_input_tokens, "inputs longer than this (subword tokens) are translated in pieces",
            Range::at_least(1));
  }
  // Checks across fields: nbest <= beam_size, and a maximum length that allows a token (not a = b = 0;
  // the search itself then emits eos only).
  void check() const;
  // Ranges and check(): std::invalid_argument naming the key.
  void validate() const;
};

}  // namespace seqzoo
