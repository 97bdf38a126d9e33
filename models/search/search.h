#pragma once
// One search for every family, through encode/step/DecoderState only: greedy and batched beam
// search with length normalisation, max length a*src_len+b, n-best lists, early finish.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/core/config.h"
#include "models/core/model.h"

namespace seqzoo {

struct SearchOptions {
  int64_t beam_size = 5;            // 1 = greedy
  double alpha = 0.6;               // GNMT length-penalty exponent
  std::string length_norm = "gnmt"; // gnmt | average | none
  double max_len_a = 1.5;           // max output tokens = a * src_len + b (eos excluded)
  int64_t max_len_b = 10;
  int64_t nbest = 1;                // hypotheses kept per sentence (<= beam_size)
  bool keep_attention = false;      // collect state "attention" per output token
  static SearchOptions from(const SearchConfig& c);
};

struct Hypothesis {
  std::vector<int64_t> tokens;              // output ids, without bos/eos
  double score = 0;                         // normalised score used for ranking
  double log_prob = 0;                      // sum of token log-probs (eos included)
  std::vector<std::vector<float>> attention;  // [tokens.size()+1][src_len] when keep_attention
};

// Decodes one padded batch: src [N,S] int64, src_len [N] (on the model's device). Returns, per
// sentence, up to nbest hypotheses, best first. The model should be in eval mode under NoGrad.
std::vector<std::vector<Hypothesis>> search_batch(Seq2SeqModelImpl& model, const torch::Tensor& src,
                                                  const torch::Tensor& src_len,
                                                  const SearchOptions& options);

// Decodes many sentences (id lists, no bos/eos) in source-token-budget batches of similar length
// on `device`; results are in input order and do not depend on the batching.
std::vector<std::vector<Hypothesis>> search_all(Seq2SeqModelImpl& model,
                                                const std::vector<std::vector<int64_t>>& src,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device);

}  // namespace seqzoo
