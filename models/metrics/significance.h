#pragma once
// Paired bootstrap resampling for MT metrics (Koehn 2004, "Statistical Significance Tests for
// Machine Translation Evaluation"), the procedure of sacreBLEU's --paired-bs: one set of resampled
// sentence indices for all systems, each resample scored from summed sentence statistics, the 95%
// interval from the 2.5% and 97.5% order statistics, and a p-value for each system against the
// baseline (the first system).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/metrics/bleu.h"

namespace seqzoo {

// Per-sentence sufficient statistics of one metric for one system, and how to score a sum of them.
struct SentenceStats {
  std::string metric;                      // "BLEU", "chrF2", ...
  std::vector<std::vector<int64_t>> rows;  // [N][K] one row per sentence
  // The score (0..100) of summed rows [K], as sacreBLEU computes it for a resample.
  std::function<double(const std::vector<int64_t>&)> score_sum;

  // The element-wise sum of the rows picked by `indices` (each index in [0, N); repeats count).
  std::vector<int64_t> sum(const std::vector<int64_t>& indices) const;
  // The sum of all rows.
  std::vector<int64_t> total() const;
};

// BLEU rows [sys_len, ref_len, correct_1..N, total_1..N] (sacreBLEU's layout) and chrF rows
// (ChrfStats::counts); refs as reference streams [R][N] as in corpus_bleu / corpus_chrf.
SentenceStats bleu_sentence_stats(const std::vector<std::string>& hyps,
                                  const std::vector<std::vector<std::string>>& refs, const BleuOptions& options);
SentenceStats chrf_sentence_stats(const std::vector<std::string>& hyps,
                                  const std::vector<std::vector<std::string>>& refs, const ChrfOptions& options);

struct BootstrapOptions {
  int64_t samples = 1000;  // resamples (sacreBLEU's default for --paired-bs)
  uint32_t seed = 12345;   // sacreBLEU's default SACREBLEU_SEED
};

// `samples` resamples of n sentence indices, with replacement: [samples][n], each in [0, n).
// The draws are NumPy's legacy RandomState(seed).randint(0, n, size=(samples, n)): MT19937
// seeded with init_genrand(seed), 32-bit outputs masked to the next power of two minus one and
// rejected while >= n. (sacreBLEU >= 2.0 draws from NumPy's default_rng instead, so its numbers
// agree with these statistically, not digit for digit.) std::invalid_argument when samples < 1,
// n < 1 or n > 2^32.
std::vector<std::vector<int64_t>> bootstrap_indices(int64_t n, const BootstrapOptions& options);

// sacreBLEU's estimate_ci: the mean of the scores and half the width of the interval between
// the sorted scores at n/40 and n - n/40 - 1 (95%).
struct ScoreInterval {
  double mean = 0;
  double half_width = 0;
};
ScoreInterval estimate_interval(std::vector<double> scores);

struct PairedResult {
  double score = 0;       // the corpus score of the system
  double mean = 0;        // mean over the resamples
  double half_width = 0;  // 95% interval: mean +- half_width
  // Against the baseline: (1 + #{resamples whose centred |difference| >= the observed
  // |difference|}) / (1 + samples). Identical systems give 1 (sacreBLEU counts > instead of >=,
  // which gives identical systems 1 / (1 + samples)). NaN for the baseline itself.
  double p_value = 0;
};

// The scores of `stats` on every resample [samples].
std::vector<double> resample_scores(const SentenceStats& stats, const std::vector<std::vector<int64_t>>& indices);

// Paired bootstrap of each system against systems[0] on one shared set of resamples; all systems
// must have the same number of sentences and the same row width (std::invalid_argument otherwise).
// Result [i] for systems[i]; result[0].p_value is NaN.
std::vector<PairedResult> paired_bootstrap(const std::vector<SentenceStats>& systems,
                                           const BootstrapOptions& options = {});

}  // namespace seqzoo
