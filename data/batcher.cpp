// Token-budget batching with length bucketing (as fairseq's --max-tokens; Ott et al. 2019).
#include "data/batcher.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace seqzoo {
namespace {

// Padded source width of a sentence: an empty source is fed as one token (see make_batch).
inline int64_t src_width(const std::vector<int64_t>& s) {
  return std::max<int64_t>(static_cast<int64_t>(s.size()), 1);
}

// Fisher–Yates with raw mt19937_64 output (std::shuffle and the std distributions differ
// between standard libraries; the engine's output sequence does not). The modulo bias is
// negligible for the sizes involved (< 2^32 elements against a 64-bit draw).
template <typename T>
void seeded_shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % static_cast<uint64_t>(i));
    std::swap(v[i - 1], v[j]);
  }
}

// Copies a row-major int64 buffer into a fresh tensor of the given shape.
torch::Tensor to_tensor(std::vector<int64_t>& buf, at::IntArrayRef shape) {
  return torch::from_blob(buf.data(), shape, torch::TensorOptions().dtype(torch::kInt64)).clone();
}

Batch build_batch(const std::vector<const std::vector<int64_t>*>& src,
                  const std::vector<const std::vector<int64_t>*>& tgt, std::vector<int64_t> ids) {
  const int64_t b = static_cast<int64_t>(src.size());
  if (b == 0) throw std::invalid_argument("make_batch: empty batch");
  if (!tgt.empty() && static_cast<int64_t>(tgt.size()) != b) {
    throw std::invalid_argument("make_batch: " + std::to_string(b) + " source but " +
                                std::to_string(tgt.size()) + " target sentences");
  }
  Batch batch;
  batch.ids = std::move(ids);

  int64_t s_max = 1;
  for (const auto* s : src) s_max = std::max(s_max, src_width(*s));
  std::vector<int64_t> src_buf(static_cast<size_t>(b * s_max), kPadId);
  std::vector<int64_t> src_len(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    const auto& s = *src[i];
    int64_t* row = src_buf.data() + i * s_max;
    if (s.empty()) {
      row[0] = kEosId;  // keeps src_len >= 1 and the mask consistent with it
      src_len[i] = 1;
    } else {
      std::copy(s.begin(), s.end(), row);
      src_len[i] = static_cast<int64_t>(s.size());
    }
    batch.src_tokens += src_len[i];
  }
  batch.src = to_tensor(src_buf, {b, s_max});
  batch.src_len = to_tensor(src_len, {b});
  if (tgt.empty()) return batch;

  int64_t t_max = 0;  // longest y + 1 (bos/eos)
  for (const auto* t : tgt) t_max = std::max(t_max, static_cast<int64_t>(t->size()) + 1);
  std::vector<int64_t> in_buf(static_cast<size_t>(b * t_max), kPadId);
  std::vector<int64_t> out_buf(static_cast<size_t>(b * t_max), kPadId);
  std::vector<int64_t> tgt_len(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    const auto& y = *tgt[i];
    const int64_t n = static_cast<int64_t>(y.size());
    int64_t* in_row = in_buf.data() + i * t_max;
    int64_t* out_row = out_buf.data() + i * t_max;
    in_row[0] = kBosId;
    std::copy(y.begin(), y.end(), in_row + 1);
    std::copy(y.begin(), y.end(), out_row);
    out_row[n] = kEosId;
    tgt_len[i] = n + 1;
    batch.tgt_tokens += n + 1;
  }
  batch.tgt_in = to_tensor(in_buf, {b, t_max});
  batch.tgt_out = to_tensor(out_buf, {b, t_max});
  batch.tgt_len = to_tensor(tgt_len, {b});
  return batch;
}

std::string fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

}  // namespace

BatchPlan plan_batches(const TokenizedCorpus& corpus, int64_t batch_tokens, int64_t max_sentences,
                       bool shuffle, uint64_t seed) {
  if (batch_tokens <= 0) {
    throw std::invalid_argument("batch_tokens must be positive, got " + std::to_string(batch_tokens));
  }
  if (max_sentences < 0) {
    throw std::invalid_argument("max_sentences must be >= 0, got " + std::to_string(max_sentences));
  }
  const size_t n = corpus.size();
  const bool has_tgt = !corpus.tgt.empty();
  if (has_tgt && corpus.tgt.size() != n) {
    throw std::invalid_argument("plan_batches: corpus has " + std::to_string(n) + " source but " +
                                std::to_string(corpus.tgt.size()) + " target sentences");
  }

  // Sort key: (src width, tgt width incl. bos/eos, tie, position); all distinct, so any sort
  // algorithm gives the same order.
  struct Key {
    int64_t s, t;
    uint64_t tie;
    int64_t pos;
  };
  std::mt19937_64 rng(seed);
  std::vector<Key> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i].s = src_width(corpus.src[i]);
    keys[i].t = has_tgt ? static_cast<int64_t>(corpus.tgt[i].size()) + 1 : 0;
    keys[i].tie = shuffle ? rng() : 0;
    keys[i].pos = static_cast<int64_t>(i);
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.s != b.s) return a.s < b.s;
    if (a.t != b.t) return a.t < b.t;
    if (a.tie != b.tie) return a.tie < b.tie;
    return a.pos < b.pos;
  });

  // Greedy cut: the padded cost of a batch is B * max over it of max(S, T+1).
  BatchPlan plan;
  std::vector<int64_t> current;
  int64_t width = 0;
  for (const Key& k : keys) {
    const int64_t w = std::max(k.s, k.t);
    const int64_t new_width = std::max(width, w);
    const int64_t new_size = static_cast<int64_t>(current.size()) + 1;
    if (!current.empty() &&
        (new_size * new_width > batch_tokens || (max_sentences > 0 && new_size > max_sentences))) {
      plan.batches.push_back(std::move(current));
      current.clear();
      width = 0;
    }
    current.push_back(k.pos);
    width = std::max(width, w);
  }
  if (!current.empty()) plan.batches.push_back(std::move(current));

  if (shuffle) seeded_shuffle(plan.batches, rng);
  return plan;
}

Batch make_batch(const TokenizedCorpus& corpus, const std::vector<int64_t>& positions) {
  const int64_t n = static_cast<int64_t>(corpus.size());
  const bool has_tgt = !corpus.tgt.empty();
  std::vector<const std::vector<int64_t>*> src, tgt;
  std::vector<int64_t> ids;
  src.reserve(positions.size());
  ids.reserve(positions.size());
  if (has_tgt) tgt.reserve(positions.size());
  for (const int64_t p : positions) {
    if (p < 0 || p >= n) {
      throw std::invalid_argument("make_batch: position " + std::to_string(p) +
                                  " outside the corpus of " + std::to_string(n) + " sentences");
    }
    src.push_back(&corpus.src[p]);
    if (has_tgt) tgt.push_back(&corpus.tgt[p]);
    ids.push_back(static_cast<int64_t>(corpus.index.size()) == n ? corpus.index[p] : p);
  }
  return build_batch(src, tgt, std::move(ids));
}

Batch make_batch(const std::vector<std::vector<int64_t>>& src,
                 const std::vector<std::vector<int64_t>>& tgt) {
  std::vector<const std::vector<int64_t>*> s, t;
  std::vector<int64_t> ids(src.size());
  s.reserve(src.size());
  t.reserve(tgt.size());
  for (size_t i = 0; i < src.size(); ++i) {
    s.push_back(&src[i]);
    ids[i] = static_cast<int64_t>(i);
  }
  for (const auto& y : tgt) t.push_back(&y);
  return build_batch(s, t, std::move(ids));
}

std::string corpus_statistics(const TokenizedCorpus& corpus, const BatchPlan& plan) {
  const size_t n = corpus.size();
  const bool has_tgt = !corpus.tgt.empty();
  int64_t src_tokens = 0, tgt_tokens = 0, src_max = 0, tgt_max = 0;
  for (size_t i = 0; i < n; ++i) {
    src_tokens += static_cast<int64_t>(corpus.src[i].size());
    src_max = std::max<int64_t>(src_max, static_cast<int64_t>(corpus.src[i].size()));
    if (has_tgt) {
      tgt_tokens += static_cast<int64_t>(corpus.tgt[i].size());
      tgt_max = std::max<int64_t>(tgt_max, static_cast<int64_t>(corpus.tgt[i].size()));
    }
  }
  // Padding as the batches would be built: src [B, S_max], tgt_in/out [B, T_max + 1].
  int64_t src_cells = 0, src_real = 0, tgt_cells = 0, tgt_real = 0, in_plan = 0, largest = 0;
  for (const auto& batch : plan.batches) {
    int64_t s_max = 1, t_max = 0;
    for (const int64_t p : batch) {
      if (p < 0 || static_cast<size_t>(p) >= n) {
        throw std::invalid_argument("corpus_statistics: batch position " + std::to_string(p) +
                                    " outside the corpus of " + std::to_string(n));
      }
      s_max = std::max(s_max, src_width(corpus.src[p]));
      src_real += src_width(corpus.src[p]);
      if (has_tgt) {
        const int64_t t = static_cast<int64_t>(corpus.tgt[p].size()) + 1;
        t_max = std::max(t_max, t);
        tgt_real += t;
      }
    }
    const int64_t b = static_cast<int64_t>(batch.size());
    src_cells += b * s_max;
    tgt_cells += b * t_max;
    in_plan += b;
    largest = std::max(largest, b);
  }
  const auto mean = [](double total, double count) { return count > 0 ? total / count : 0.0; };
  const auto pad_pct = [](int64_t real, int64_t cells) {
    return cells > 0 ? 100.0 * static_cast<double>(cells - real) / static_cast<double>(cells) : 0.0;
  };

  std::ostringstream out;
  out << "sentences: " << n;
  if (corpus.skipped_empty || corpus.skipped_length) {
    out << " (dropped " << corpus.skipped_empty << " with an empty side, " << corpus.skipped_length
        << " outside the length limits)";
  }
  out << "\n";
  out << "source tokens: " << src_tokens
      << fmt(" (mean length %.2f, max %.0f)", mean(src_tokens, n), static_cast<double>(src_max))
      << "\n";
  if (has_tgt) {
    out << "target tokens: " << tgt_tokens
        << fmt(" (mean length %.2f, max %.0f)", mean(tgt_tokens, n), static_cast<double>(tgt_max))
        << "\n";
  }
  out << "batches: " << plan.batches.size()
      << fmt(" (mean %.1f sentences, largest %.0f)", mean(in_plan, plan.batches.size()),
             static_cast<double>(largest))
      << "\n";
  out << fmt("padding: source %.1f%%", pad_pct(src_real, src_cells));
  if (has_tgt) out << fmt(", target %.1f%%", pad_pct(tgt_real, tgt_cells));
  out << "\n";
  return out.str();
}

}  // namespace seqzoo
