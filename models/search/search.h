#pragma once
// One search for every family, through encode/step/DecoderState only: greedy and batched beam
// search with length normalisation, max length a*src_len+b, n-best lists, early finish.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "models/core/model.h"
#include "models/search/search_options.h"

namespace seqzoo {


struct Hypothesis {
  std::vector<int64_t> tokens;              // output ids, without bos/eos
  double score = 0;                         // normalised score used for ranking
  double log_prob = 0;                      // sum of token log-probs (eos included)
  std::vector<std::vector<float>> attention;  // [tokens.size()+1][src_len] when keep_attention
};

// Decodes one padded batch: src [N,S] int64, src_len [N] (on the model's device, every length >= 1).
// Returns, per sentence, up to nbest hypotheses, best first. The model should be in eval mode (a
// NoGradGuard is taken inside).
// - Scores: log_prob sums the token log-probs including eos; score = log_prob / lp(|y|+1) with
//   gnmt lp(L) = ((5+L)/6)^alpha (Wu et al. 2016), average lp(L) = L, none lp = 1.
// - Sentence i emits at most floor(max_len_a * src_len[i] + max_len_b) tokens; at that point eos is
//   forced (scored with its own log-prob).
// - Eos candidates ranked within the top beam_size of a step are finalised (fairseq); a sentence is
//   done when beam_size hypotheses ended, or nbest ended that no open hypothesis can still beat
//   (its raw score over the largest normaliser it can reach, OpenNMT-py), or at its length limit.
// - Finished sentences leave the batch (the state is compacted): results do not depend on batching.
// - keep_attention: Hypothesis::attention holds state "attention" [N,S] rows (src_len[i] columns)
//   for every output token and eos; empty when the model does not provide "attention".
// - Constraints (constraints.h): min length, a forced target prefix per sentence (prefixes[i], may be
//   empty; none when `prefixes` is empty), <unk> suppression, no-repeat-ngram.
// - With options.sampling, the sentences are sampled instead (sampling.h): ids[i] is sentence i's
//   identity for its random streams (default: i).
std::vector<std::vector<Hypothesis>> search_batch(Seq2SeqModelImpl& model, const torch::Tensor& src,
                                                  const torch::Tensor& src_len,
                                                  const SearchOptions& options,
                                                  const std::vector<std::vector<int64_t>>& prefixes = {},
                                                  const std::vector<int64_t>& ids = {});

// The length normaliser of a hypothesis of `length` scored tokens (eos included):
// gnmt lp(L) = ((5+L)/6)^alpha (Wu et al. 2016, eq. 14), average L, none 1.
double length_penalty(const SearchOptions& options, int64_t length);

// One sentence to decode: source ids (no bos/eos), an optional forced target prefix (ids), and its
// identity (e.g. its line number), which keys its random streams when sampling.
struct SearchInput {
  std::vector<int64_t> src;
  std::vector<int64_t> prefix;
  int64_t id = 0;
};

// Copies of one model that decode disjoint work at once, one thread each (--workers, as Marian's
// --cpu-threads workers): every replica must hold the same weights. The work is cut exactly as for
// one model, so the results do not depend on the number of replicas.
struct SearchWorkers {
  std::vector<Seq2SeqModelImpl*> replicas;  // at least one
  int64_t threads_each = 0;                 // intra-op threads of each worker thread (0 = leave as is)
  // When set, each worker's share of the work (the calling thread's too) runs inside scope(work):
  // for state that belongs to a thread, such as an autocast scope.
  std::function<void(const std::function<void()>& work)> scope;

  // Runs task(i, model) for i = 0..tasks-1: with one replica in order on the calling thread;
  // otherwise on one thread per replica (each with a NoGradGuard and threads_each threads), the tasks
  // taken in order of i; inside `scope` either way. The first exception is rethrown once every
  // thread has stopped.
  void run(size_t tasks, const std::function<void(size_t task, Seq2SeqModelImpl& model)>& task) const;
};

// Decodes many sentences (id lists, no bos/eos) in source-token-budget batches of similar length
// (longest first; a batch holds sentences x longest source <= batch_tokens, at least one sentence)
// on `device`; results are in input order and do not depend on the batching. An empty source is
// not decoded: it gets one empty hypothesis (score 0, log_prob 0), since any output for it would
// be invented by a model never trained on empty inputs.
std::vector<std::vector<Hypothesis>> search_all(Seq2SeqModelImpl& model, const std::vector<SearchInput>& inputs,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device);
// The same with the batches shared out among workers (the same batches and results).
std::vector<std::vector<Hypothesis>> search_all(const SearchWorkers& workers, const std::vector<SearchInput>& inputs,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device);
// The same for plain sources (no prefix; sentence i has id i).
std::vector<std::vector<Hypothesis>> search_all(Seq2SeqModelImpl& model,
                                                const std::vector<std::vector<int64_t>>& src,
                                                const SearchOptions& options, int64_t batch_tokens,
                                                const torch::Device& device);

}  // namespace seqzoo
