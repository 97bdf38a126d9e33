#include "models/training/sources.h"

#include <random>

#include <memory>
#include <stdexcept>

#include "models/metrics/bleu.h"
#include "models/search/search.h"

namespace seqzoo {

CorpusBatchSource::CorpusBatchSource(const TokenizedCorpus& corpus, int64_t batch_tokens, int64_t max_sentences,
                                     uint64_t seed)
    : corpus_(corpus), batch_tokens_(batch_tokens), max_sentences_(max_sentences), seed_(seed) {}

int64_t CorpusBatchSource::begin_epoch(int64_t epoch) {
  plan_ = plan_batches(corpus_, batch_tokens_, max_sentences_, /*shuffle=*/true, seed_ + static_cast<uint64_t>(epoch));
  return static_cast<int64_t>(plan_.batches.size());
}

Batch CorpusBatchSource::batch(int64_t index) { return make_batch(corpus_, plan_.batches.at(static_cast<size_t>(index))); }

TokenizedCorpus head(const TokenizedCorpus& corpus, int64_t n) {
  if (n <= 0 || n >= static_cast<int64_t>(corpus.size())) return corpus;
  TokenizedCorpus out;
  out.src.assign(corpus.src.begin(), corpus.src.begin() + n);
  if (!corpus.tgt.empty()) out.tgt.assign(corpus.tgt.begin(), corpus.tgt.begin() + n);
  out.index.assign(corpus.index.begin(), corpus.index.begin() + n);
  return out;
}

ValidationSet make_validation_set(const TokenizedCorpus& valid_all, const RawCorpus& raw, const Tokenizers& tok,
                                  const TrainConfig& train, const DataConfig& data, const SearchOptions& search) {
  ValidationSet set;
  TokenizedCorpus valid = head(valid_all, train.valid_max_sentences);
  if (valid.size() == 0) return set;
  if (valid.tgt.size() != valid.size())
    throw std::invalid_argument("validation set " + raw.src_path + ": no target side");
  BatchPlan plan = plan_batches(valid, data.batch_tokens, data.max_sentences, /*shuffle=*/false, 0);
  for (const auto& positions : plan.batches) set.batches.push_back(make_batch(valid, positions));
  if (!train.valid_bleu) return set;

  auto src = std::make_shared<std::vector<std::vector<int64_t>>>(valid.src);
  auto refs = std::make_shared<std::vector<std::string>>();
  for (int64_t i : valid.index) {
    if (i < 0 || static_cast<size_t>(i) >= raw.tgt.size())
      throw std::invalid_argument("validation set: index " + std::to_string(i) + " outside the raw corpus");
    refs->push_back(raw.tgt[static_cast<size_t>(i)]);
  }
  SearchOptions options = search;
  options.beam_size = std::max<int64_t>(1, train.valid_beam);
  const int64_t batch_tokens = search.batch_tokens;
  std::shared_ptr<Tokenizer> tgt_tok = tok.tgt;
  set.bleu_with = [src, refs, batch_tokens, tgt_tok](Seq2SeqModelImpl& model, const torch::Device& device,
                                                     const SearchOptions& with) {
    SearchOptions o = with;
    o.nbest = 1;
    o.keep_attention = false;
    auto results = search_all(model, *src, o, batch_tokens, device);
    std::vector<std::string> hyps;
    hyps.reserve(results.size());
    for (const auto& nbest : results) hyps.push_back(nbest.empty() ? "" : tgt_tok->decode(nbest.front().tokens));
    return corpus_bleu(hyps, {*refs}).score;
  };
  set.bleu = [bleu_with = set.bleu_with, options](Seq2SeqModelImpl& model, const torch::Device& device) {
    return bleu_with(model, device, options);
  };
  return set;
}

}  // namespace seqzoo
