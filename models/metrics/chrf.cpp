// chrF (Popović 2015) and chrF++ (Popović 2017) as sacreBLEU 2.x computes them: character
// n-grams of the whitespace-free segment (orders 1..char_order), optionally word n-grams after
// splitting punctuation off word edges (orders 1..word_order), per-sentence best reference by
// F-score, corpus statistics summed, then F-beta of the averaged precision and recall over the
// orders that have both hypothesis and reference n-grams ("effective order"), or chrF++.py's
// epsilon smoothing.
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

#include "models/metrics/bleu.h"
#include "models/metrics/metrics_util.h"
#include "models/metrics/unicode.h"

#ifndef SEQZOO_VERSION
#define SEQZOO_VERSION "unknown"
#endif

namespace seqzoo {
namespace {

using Counter = std::unordered_map<std::u32string, int64_t>;

bool is_ascii_punct(char32_t c) {  // Python's string.punctuation
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Splits one punctuation character off the end (else the start) of each word (sacreBLEU's
// CHRF._remove_punctuation, after m-popovic/chrF).
std::vector<std::u32string> remove_punctuation(const std::u32string& sent) {
  std::vector<std::u32string> out;
  for (auto& w : unicode::split(sent)) {
    if (w.size() == 1) {
      out.push_back(w);
    } else if (is_ascii_punct(w.back())) {
      out.push_back(w.substr(0, w.size() - 1));
      out.push_back(w.substr(w.size() - 1));
    } else if (is_ascii_punct(w.front())) {
      out.push_back(w.substr(0, 1));
      out.push_back(w.substr(1));
    } else {
      out.push_back(w);
    }
  }
  return out;
}

// One Counter per order: character orders 1..char_order, then word orders 1..word_order.
std::vector<Counter> extract(const std::u32string& sent, const ChrfOptions& o) {
  std::vector<Counter> all;
  std::u32string chars;
  if (o.whitespace) {
    chars = sent;
  } else {
    for (char32_t c : sent)
      if (!unicode::is_space(c)) chars.push_back(c);
  }
  for (int n = 1; n <= o.char_order; ++n) {
    Counter c;
    for (size_t i = 0; i + n <= chars.size(); ++i) ++c[chars.substr(i, n)];
    all.push_back(std::move(c));
  }
  if (o.word_order > 0) {
    auto words = remove_punctuation(sent);
    for (int n = 1; n <= o.word_order; ++n) {
      Counter c;
      for (size_t i = 0; i + n <= words.size(); ++i) {
        std::u32string key = words[i];
        for (int k = 1; k < n; ++k) key += U" " + words[i + k];
        ++c[key];
      }
      all.push_back(std::move(c));
    }
  }
  return all;
}

// [hyp, ref, match] per order.
std::vector<int64_t> match_stats(const std::vector<Counter>& hyp, const std::vector<Counter>& ref) {
  std::vector<int64_t> stats;
  for (size_t i = 0; i < hyp.size(); ++i) {
    int64_t hyp_count = 0, match = 0, ref_count = 0;
    for (const auto& kv : hyp[i]) {
      hyp_count += kv.second;
      auto it = ref[i].find(kv.first);
      if (it != ref[i].end()) match += std::min(kv.second, it->second);
    }
    for (const auto& kv : ref[i]) ref_count += kv.second;
    stats.push_back(ref[i].empty() ? 0 : hyp_count);  // no hits without reference n-grams
    stats.push_back(ref_count);
    stats.push_back(match);
  }
  return stats;
}

// sacreBLEU's CHRF._compute_f_score. With float32_ratios each precision and recall is the float32
// quotient of the counts, as in sacreBLEU's bootstrap, where the statistics are float32 arrays.
double f_score(const std::vector<int64_t>& stats, const ChrfOptions& o, bool float32_ratios = false) {
  const double eps = 1e-16;
  const double factor = o.beta * o.beta;
  const int order = o.char_order + o.word_order;
  auto ratio = [float32_ratios](int64_t num, int64_t den) {
    if (float32_ratios) return static_cast<double>(static_cast<float>(num) / static_cast<float>(den));
    return static_cast<double>(num) / static_cast<double>(den);
  };
  double score = 0, avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int i = 0; i < order; ++i) {
    const int64_t n_hyp = stats[3 * i];
    const int64_t n_ref = stats[3 * i + 1];
    const int64_t n_match = stats[3 * i + 2];
    const double prec = n_hyp > 0 ? ratio(n_match, n_hyp) : eps;
    const double rec = n_ref > 0 ? ratio(n_match, n_ref) : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective;
    }
  }
  if (o.eps_smoothing) return 100 * score / order;
  if (effective == 0) {
    avg_prec = avg_rec = 0;
  } else {
    avg_prec /= effective;
    avg_rec /= effective;
  }
  if (avg_prec + avg_rec == 0) return 0.0;
  // The same operation order as sacreBLEU, so the double results agree bit for bit.
  double f = (1 + factor) * avg_prec * avg_rec;
  f /= factor * avg_prec + avg_rec;
  return 100 * f;
}

void check(const ChrfOptions& o) {
  if (o.char_order < 0 || o.word_order < 0 || o.char_order + o.word_order < 1)
    throw std::invalid_argument("chrF needs char_order + word_order >= 1");
  if (!(o.beta > 0)) throw std::invalid_argument("chrF beta must be > 0");
}

}  // namespace

std::string ChrfScore::format() const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s = %.2f", name.c_str(), score);
  return buf;
}

ChrfStats& ChrfStats::operator+=(const ChrfStats& other) {
  if (counts.size() != other.counts.size())
    throw std::invalid_argument("ChrfStats: adding statistics of different orders");
  for (size_t k = 0; k < counts.size(); ++k) counts[k] += other.counts[k];
  return *this;
}

namespace {

// sacreBLEU's CHRF._compute_segment_statistics for every sentence: the statistics of the
// reference with the best sentence F-score (the first of equal ones).
std::vector<ChrfStats> stats_from_sentences(const std::vector<std::string>& hyps,
                                            const std::vector<std::vector<std::string>>& per_sentence,
                                            const ChrfOptions& options) {
  std::vector<ChrfStats> out(hyps.size());
  for (size_t i = 0; i < hyps.size(); ++i) {
    auto hyp = extract(metrics_detail::prepare(hyps[i], options.lowercase), options);
    double best_f = -1.0;
    for (const auto& r : per_sentence[i]) {
      auto stats = match_stats(hyp, extract(metrics_detail::prepare(r, options.lowercase), options));
      const double f = f_score(stats, options);
      if (f > best_f) {
        best_f = f;
        out[i].counts = std::move(stats);
      }
    }
  }
  return out;
}

ChrfScore named_score(double score, const ChrfOptions& options) {
  ChrfScore s;
  s.score = score;
  char beta[32];
  if (options.beta == std::floor(options.beta))
    std::snprintf(beta, sizeof beta, "%lld", static_cast<long long>(options.beta));
  else
    std::snprintf(beta, sizeof beta, "%g", options.beta);
  s.name = std::string("chrF") + beta + std::string(static_cast<size_t>(options.word_order), '+');
  return s;
}

void check_stats(const std::vector<int64_t>& counts, const ChrfOptions& options) {
  check(options);
  if (counts.size() != static_cast<size_t>(3 * (options.char_order + options.word_order)))
    throw std::invalid_argument("chrF statistics need 3 * (char_order + word_order) entries");
}

}  // namespace

std::vector<ChrfStats> sentence_chrf_stats(const std::vector<std::string>& hyps,
                                           const std::vector<std::vector<std::string>>& refs,
                                           const ChrfOptions& options) {
  check(options);
  std::string nrefs;
  auto per_sentence = metrics_detail::transpose_references(hyps, refs, nrefs);
  return stats_from_sentences(hyps, per_sentence, options);
}

ChrfScore chrf_from_stats(const ChrfStats& summed, const ChrfOptions& options) {
  check_stats(summed.counts, options);
  return named_score(f_score(summed.counts, options), options);
}

namespace metrics_detail {
double chrf_resample_score(const std::vector<int64_t>& summed, const ChrfOptions& options) {
  check_stats(summed, options);
  return f_score(summed, options, /*float32_ratios=*/true);
}
}  // namespace metrics_detail

ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& refs,
                      const ChrfOptions& options) {
  check(options);
  std::string nrefs;
  auto per_sentence = metrics_detail::transpose_references(hyps, refs, nrefs);
  // sacreBLEU sums the sentence statistics and scores the sum.
  ChrfStats total;
  total.counts.assign(static_cast<size_t>(3 * (options.char_order + options.word_order)), 0);
  for (const auto& st : stats_from_sentences(hyps, per_sentence, options)) total += st;
  ChrfScore s = chrf_from_stats(total, options);
  s.signature = "nrefs:" + nrefs + "|case:" + (options.lowercase ? "lc" : "mixed") +
                "|eff:" + (options.eps_smoothing ? "no" : "yes") +
                "|nc:" + std::to_string(options.char_order) +
                "|nw:" + std::to_string(options.word_order) +
                "|space:" + (options.whitespace ? "yes" : "no") + "|version:seqzoo-" SEQZOO_VERSION;
  return s;
}

ChrfScore sentence_chrf(const std::string& hyp, const std::vector<std::string>& refs,
                        const ChrfOptions& options) {
  std::vector<std::vector<std::string>> streams;
  for (const auto& r : refs) streams.push_back({r});
  return corpus_chrf({hyp}, streams, options);
}

}  // namespace seqzoo
