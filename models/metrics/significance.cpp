#include "models/metrics/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

namespace seqzoo {

std::vector<int64_t> SentenceStats::sum(const std::vector<int64_t>& indices) const {
  const size_t width = rows.empty() ? 0 : rows.front().size();
  std::vector<int64_t> out(width, 0);
  for (int64_t i : indices) {
    if (i < 0 || static_cast<size_t>(i) >= rows.size())
      throw std::invalid_argument("sentence index " + std::to_string(i) + " out of range [0, " +
                                  std::to_string(rows.size()) + ")");
    const auto& r = rows[static_cast<size_t>(i)];
    for (size_t k = 0; k < width; ++k) out[k] += r[k];
  }
  return out;
}

std::vector<int64_t> SentenceStats::total() const {
  std::vector<int64_t> all(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) all[i] = static_cast<int64_t>(i);
  return sum(all);
}

SentenceStats bleu_sentence_stats(const std::vector<std::string>& hyps,
                                  const std::vector<std::vector<std::string>>& refs, const BleuOptions& options) {
  SentenceStats out;
  out.metric = "BLEU";
  for (const BleuStats& st : sentence_bleu_stats(hyps, refs, options)) {
    std::vector<int64_t> row{st.sys_len, st.ref_len};
    row.insert(row.end(), st.counts.begin(), st.counts.end());
    row.insert(row.end(), st.totals.begin(), st.totals.end());
    out.rows.push_back(std::move(row));
  }
  const size_t order = static_cast<size_t>(options.max_order);
  out.score_sum = [options, order](const std::vector<int64_t>& s) {
    if (s.size() != 2 + 2 * order) throw std::invalid_argument("BLEU statistics of the wrong width");
    BleuStats st;
    st.sys_len = s[0];
    st.ref_len = s[1];
    st.counts.assign(s.begin() + 2, s.begin() + 2 + static_cast<std::ptrdiff_t>(order));
    st.totals.assign(s.begin() + 2 + static_cast<std::ptrdiff_t>(order), s.end());
    return compute_bleu(st, options).score;
  };
  return out;
}

SentenceStats chrf_sentence_stats(const std::vector<std::string>& hyps,
                                  const std::vector<std::vector<std::string>>& refs, const ChrfOptions& options) {
  SentenceStats out;
  for (ChrfStats& st : sentence_chrf_stats(hyps, refs, options)) out.rows.push_back(std::move(st.counts));
  ChrfStats empty;
  empty.counts.assign(static_cast<size_t>(3 * (options.char_order + options.word_order)), 0);
  out.metric = chrf_from_stats(empty, options).name;
  out.score_sum = [options](const std::vector<int64_t>& s) {
    return metrics_detail::chrf_resample_score(s, options);
  };
  return out;
}

std::vector<std::vector<int64_t>> bootstrap_indices(int64_t n, const BootstrapOptions& options) {
  if (options.samples < 1)
    throw std::invalid_argument("bootstrap: samples must be >= 1, got " + std::to_string(options.samples));
  if (n < 1) throw std::invalid_argument("bootstrap: no sentences to resample");
  if (n > (int64_t{1} << 32)) throw std::invalid_argument("bootstrap: more than 2^32 sentences");
  std::mt19937 gen(options.seed);  // init_genrand(seed), as NumPy's legacy seeding of an integer
  const uint64_t range = static_cast<uint64_t>(n - 1);  // draws are in [0, range]
  uint64_t mask = range;
  for (int shift = 1; shift <= 32; shift <<= 1) mask |= mask >> shift;
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(options.samples), std::vector<int64_t>(static_cast<size_t>(n)));
  for (auto& row : out)
    for (auto& v : row) {
      if (range == 0) {
        v = 0;  // NumPy draws nothing for an empty range
        continue;
      }
      uint64_t x;
      do x = static_cast<uint64_t>(gen()) & mask;
      while (x > range);
      v = static_cast<int64_t>(x);
    }
  return out;
}

ScoreInterval estimate_interval(std::vector<double> scores) {
  if (scores.empty()) throw std::invalid_argument("bootstrap: no scores");
  std::sort(scores.begin(), scores.end());
  const size_t n = scores.size(), lower = n / 40, upper = n - lower - 1;
  ScoreInterval out;
  double sum = 0;
  for (double s : scores) sum += s;
  out.mean = sum / static_cast<double>(n);
  out.half_width = 0.5 * (scores[upper] - scores[lower]);
  return out;
}

std::vector<double> resample_scores(const SentenceStats& stats, const std::vector<std::vector<int64_t>>& indices) {
  std::vector<double> out;
  out.reserve(indices.size());
  for (const auto& idx : indices) out.push_back(stats.score_sum(stats.sum(idx)));
  return out;
}

std::vector<PairedResult> paired_bootstrap(const std::vector<SentenceStats>& systems, const BootstrapOptions& options) {
  if (systems.empty()) throw std::invalid_argument("paired bootstrap: no systems");
  const size_t n = systems.front().rows.size();
  for (const auto& s : systems) {
    if (s.rows.size() != n)
      throw std::invalid_argument("paired bootstrap: systems have " + std::to_string(n) + " and " +
                                  std::to_string(s.rows.size()) + " sentences");
    if (!s.rows.empty() && s.rows.front().size() != systems.front().rows.front().size())
      throw std::invalid_argument("paired bootstrap: systems scored with different metrics");
  }
  const auto indices = bootstrap_indices(static_cast<int64_t>(n), options);
  const std::vector<double> base = resample_scores(systems.front(), indices);
  const double base_score = systems.front().score_sum(systems.front().total());
  std::vector<PairedResult> out;
  for (size_t k = 0; k < systems.size(); ++k) {
    const std::vector<double> scores = k == 0 ? base : resample_scores(systems[k], indices);
    PairedResult r;
    r.score = systems[k].score_sum(systems[k].total());
    const ScoreInterval ci = estimate_interval(scores);
    r.mean = ci.mean;
    r.half_width = ci.half_width;
    if (k == 0) {
      r.p_value = std::numeric_limits<double>::quiet_NaN();
    } else {
      // Koehn 2004 / Moses bootstrap-hypothesis-difference-significance.pl, as sacreBLEU: the
      // resampled differences centred on their mean are the null distribution of the difference.
      const double observed = std::abs(base_score - r.score);
      std::vector<double> diffs(scores.size());
      double mean = 0;
      for (size_t i = 0; i < scores.size(); ++i) {
        diffs[i] = std::abs(scores[i] - base[i]);
        mean += diffs[i];
      }
      mean /= static_cast<double>(diffs.size());
      int64_t count = 0;
      for (double d : diffs) count += (d - mean) >= observed ? 1 : 0;
      r.p_value = static_cast<double>(count + 1) / static_cast<double>(diffs.size() + 1);
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace seqzoo
