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
  // Decoding controls (fairseq's --min-len/--no-repeat-ngram-size/--unkpen, Marian's --max-length-factor).
  double min_len_a = 0;
  int64_t min_len_b = 0, no_repeat_ngram = 0;
  bool suppress_unk = false;
  // Sampling instead of beam search (fairseq --sampling, Marian --output-sampling): nbest draws per sentence.
  bool sampling = false;
  double temperature = 1.0, topp = 1.0;
  int64_t topk = 0, seed = 0;
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
    v.field("min_len_a", min_len_a, "min output length = a * source length + b (eos is blocked before)",
            Range::non_negative());
    v.field("min_len_b", min_len_b, "min output length = a * source length + b (eos is blocked before)",
            Range::non_negative());
    v.field("no_repeat_ngram", no_repeat_ngram, "never repeat an n-gram of this size in an output (0 = off)",
            Range::non_negative());
    v.field("suppress_unk", suppress_unk, "never output <unk>");
    v.field("sampling", sampling, "sample instead of beam search: nbest independent draws per sentence");
    v.field("temperature", temperature, "sampling: divide the log-probs by this (< 1 sharper, > 1 flatter)",
            Range::positive());
    v.field("topk", topk, "sampling: draw from the k most likely tokens only (0 = all)", Range::non_negative());
    v.field("topp", topp, "sampling: draw from the smallest set of tokens with this much probability (nucleus)",
            Range::fraction());
    v.field("seed", seed, "sampling: random seed (a sentence's draws depend on it and on its line only)",
            Range::non_negative());
  }
  // Checks across fields: nbest <= beam_size, and a maximum length that allows a token (not a = b = 0;
  // the search itself then emits eos only).
  void check() const;
  // Ranges and check(): std::invalid_argument naming the key.
  void validate() const;
};

}  // namespace seqzoo
