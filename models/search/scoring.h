#pragma once
// Forced decoding: the model's log-probability of a given target for a given source (fairseq's
// --score-reference, Marian's marian-scorer), through the model interface's teacher-forced
// forward() only, so every family (and an ensemble) scores the same way. A target's score is the sum
// of its tokens' log-probs, eos included: exactly what the search adds up along that path.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/core/model.h"
#include "models/search/search.h"

namespace seqzoo {

// Per pair i: the log-prob of each target token tgt[i][0..n-1] and of eos ([n+1] values), given
// src[i]. Only pairs of the same source and target lengths share a batch (pairs x longer side <=
// batch_tokens, at least one pair), so nothing is padded and a pair's numbers do not depend on the
// batching beyond float rounding (a BLAS may pick its kernel by matrix shape); results are in input
// order, computed on `device`. Every source must be non-empty (std::invalid_argument naming the pair
// otherwise).
// The model should be in eval mode (a NoGradGuard is taken inside).
std::vector<std::vector<float>> score_all(Seq2SeqModelImpl& model, const std::vector<std::vector<int64_t>>& src,
                                          const std::vector<std::vector<int64_t>>& tgt, int64_t batch_tokens,
                                          const torch::Device& device);
// The same with the batches shared out among workers (the same batches and numbers).
std::vector<std::vector<float>> score_all(const SearchWorkers& workers, const std::vector<std::vector<int64_t>>& src,
                                          const std::vector<std::vector<int64_t>>& tgt, int64_t batch_tokens,
                                          const torch::Device& device);

}  // namespace seqzoo
