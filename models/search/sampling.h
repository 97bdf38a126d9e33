#pragma once
// Sampling instead of beam search (search.sampling): each sentence gets nbest independent draws
// from the model's next-token distribution, sharpened or flattened by the temperature and cut to
// the top k tokens and/or the nucleus of probability p (Holtzman et al. 2020), as fairseq's
// --sampling --sampling-topk --sampling-topp and Marian's --output-sampling do; used for
// back-translation (Edunov et al. 2018).
//
// Reproducible: every draw comes from a counter-based generator keyed by (seed, the sentence's id,
// the draw's index k, the step), so a sentence's samples depend on the seed and its id (its line)
// only, never on the batch it is decoded in or on the other sentences.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/core/model.h"
#include "models/search/constraints.h"
#include "models/search/search.h"

namespace seqzoo {

// Samples options.nbest outputs per sentence of src [N,S] / src_len [N] (the model's device), with
// limits[i] and ids[i] for sentence i. Hypotheses come in draw order (k = 0..nbest-1): tokens,
// log_prob = the sum of the model's own log-probs of the drawn tokens and eos (temperature 1, before
// the top-k/top-p cut, after the constraints), score = log_prob over the length penalty.
std::vector<std::vector<Hypothesis>> sample_batch(Seq2SeqModelImpl& model, const torch::Tensor& src,
                                                  const torch::Tensor& src_len,
                                                  const std::vector<SentenceLimits>& limits,
                                                  const std::vector<int64_t>& ids, const SearchOptions& options);

// The uniform number in (0, 1) of draw k of sentence `id` at step t under `seed` (splitmix64 chain).
double sampling_uniform(int64_t seed, int64_t id, int64_t k, int64_t t);

// Keeps, in place, the top-k (k > 0) and/or the top-p (p < 1) part of each row of logits [R,V]:
// everything else becomes -inf (at least the most likely token always stays).
void cut_top_k_top_p(torch::Tensor& logits, int64_t k, double p);

}  // namespace seqzoo
