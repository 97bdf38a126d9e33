#pragma once
// Token-budget batching with length bucketing (fairseq --max-tokens): sentences are sorted by
// length, cut into batches whose padded size stays within the budget, and the batch order is
// shuffled with a seed. Deterministic for a seed.
#include <cstdint>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/corpus.h"

namespace seqzoo {

struct BatchPlan {
  std::vector<std::vector<int64_t>> batches;  // each: positions into the TokenizedCorpus
};

// Groups sentence positions into batches: max(B*S_max, B*(T_max+1)) <= batch_tokens (T_max + 1
// because tgt_in/tgt_out carry bos/eos; a single sentence longer than the budget gets a batch of
// its own), at most max_sentences per batch (0 = no limit).
// shuffle=true: the order of batches (and of equal-length sentences) is a function of seed.
BatchPlan plan_batches(const TokenizedCorpus& corpus, int64_t batch_tokens, int64_t max_sentences,
                       bool shuffle, uint64_t seed);

// Builds the padded tensors of one batch (src, src_len, tgt_in = bos+y, tgt_out = y+eos, tgt_len).
// With an empty corpus.tgt only the source side is filled. reverse_source is NOT applied here.
// Batch::ids are corpus.index[position] (raw corpus positions), in the order of `positions`.
Batch make_batch(const TokenizedCorpus& corpus, const std::vector<int64_t>& positions);
// Same, from raw id lists (for search and tests); ids are 0..B-1.
// An empty source sentence becomes the single token kEosId (src_len stays >= 1).
Batch make_batch(const std::vector<std::vector<int64_t>>& src,
                 const std::vector<std::vector<int64_t>>& tgt);

// A human-readable summary (several lines): sentences, tokens per side, mean/max lengths,
// batches, mean sentences per batch, padding % per side (what seqzoo-train --prepare-only prints).
std::string corpus_statistics(const TokenizedCorpus& corpus, const BatchPlan& plan);

}  // namespace seqzoo
