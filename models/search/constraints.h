#pragma once
// What beam search and sampling allow as the next token, shared by both: the output length limits
// (max: a*|x|+b, fairseq's forced eos; min: eos blocked before a*|x|+b), a forced target prefix,
// <unk> suppression and no-repeat-ngram (Paulus et al. 2018; fairseq --no-repeat-ngram-size).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/search/search_options.h"

namespace seqzoo {

// One sentence's limits: at most max_len tokens before eos, at least min_len (when max_len
// allows), and the first prefix.size() tokens forced (max_len is raised to hold the prefix).
struct SentenceLimits {
  int64_t min_len = 0;
  int64_t max_len = 0;
  std::vector<int64_t> prefix;
};

// Limits of a sentence of src_len tokens under `options`, with an optional forced prefix.
SentenceLimits sentence_limits(const SearchOptions& options, int64_t src_len, std::vector<int64_t> prefix = {});

// True when constrain_step has anything to do beyond pad/bos and the max length (which the beam
// search handles on the device itself): min length, prefix, <unk>, no-repeat-ngram.
bool has_token_constraints(const SearchOptions& options, const std::vector<SentenceLimits>& limits);

// Applies the constraints in place to scores [R,V] (log-probs, or log-probs plus running scores) at
// step t (tokens emitted so far): row r is a hypothesis of sentence sentence[r] whose tokens so far
// are *tokens[r] (nullptr: a dead row, left alone). A forbidden token gets -inf; a forced one keeps
// its score while every other token of the row gets -inf. Never pad or bos; only eos at max_len;
// no eos before min_len; only prefix[t] while t < |prefix|; never <unk> with suppress_unk; never a
// token that completes an n-gram the hypothesis already holds (no_repeat_ngram = n).
void constrain_step(torch::Tensor& scores, int64_t t, const std::vector<const std::vector<int64_t>*>& tokens,
                    const std::vector<int64_t>& sentence, const std::vector<SentenceLimits>& limits,
                    const SearchOptions& options);

// The tokens that would complete an n-gram already in `tokens` (size n; n = 1: every token seen).
std::vector<int64_t> repeated_ngram_bans(const std::vector<int64_t>& tokens, int64_t n);

}  // namespace seqzoo
