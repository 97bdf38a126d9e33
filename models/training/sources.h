#pragma once
// The trainer's view of a tokenized corpus: training epochs from plan_batches(seed + epoch), and
// the validation set (teacher-forced batches + a BLEU scorer through search_all and corpus_bleu).
#include <cstdint>
#include <string>
#include <vector>

#include "data/batcher.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "models/search/search_options.h"
#include "models/training/train_config.h"
#include "models/training/trainer.h"

namespace seqzoo {

// Epoch e: plan_batches(corpus, batch_tokens, max_sentences, shuffle = true, seed + e).
class CorpusBatchSource : public BatchSource {
 public:
  CorpusBatchSource(const TokenizedCorpus& corpus, int64_t batch_tokens, int64_t max_sentences, uint64_t seed);
  int64_t begin_epoch(int64_t epoch) override;
  Batch batch(int64_t index) override;
  const BatchPlan& plan() const { return plan_; }

 private:
  const TokenizedCorpus& corpus_;
  int64_t batch_tokens_, max_sentences_;
  uint64_t seed_;
  BatchPlan plan_;
};

// The first n pairs of a corpus (n <= 0 or >= size: all).
TokenizedCorpus head(const TokenizedCorpus& corpus, int64_t n);

// Validation set of `valid` (tokenized without filtering) against the raw references `raw`
// (raw.tgt[valid.index[i]]): the first train.valid_max_sentences pairs as loss batches in length
// order (data.batch_tokens, data.max_sentences), and, when train.valid_bleu, a BLEU scorer decoding
// with beam train.valid_beam (the other options from `search`). Holds copies of what it needs.
ValidationSet make_validation_set(const TokenizedCorpus& valid, const RawCorpus& raw, const Tokenizers& tok,
                                  const TrainConfig& train, const DataConfig& data, const SearchOptions& search);

}  // namespace seqzoo
