#pragma once
// Corpus and sentence BLEU reproducing sacreBLEU 2.x (Post 2018), and chrF (Popović 2015).
#include <cstdint>
#include <string>
#include <vector>

namespace seqzoo {

struct BleuOptions {
  std::string tokenize = "13a";   // 13a | none | intl | char
  std::string smooth = "exp";     // exp | floor | add-k | none
  double smooth_value = -1;       // floor: 0.1, add-k: 1 when < 0 (sacreBLEU defaults)
  int max_order = 4;
  bool effective_order = false;
  bool lowercase = false;
  // std::invalid_argument naming the bad field (tokenize, smooth, max_order).
  void validate() const;
};

struct BleuScore {
  double score = 0;               // 0..100
  std::vector<int64_t> counts;    // matching n-grams per order
  std::vector<int64_t> totals;    // hypothesis n-grams per order
  std::vector<double> precisions; // percent
  double bp = 0;                  // brevity penalty
  int64_t sys_len = 0, ref_len = 0;
  std::string signature;          // nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:seqzoo-x
  std::string format() const;     // "BLEU = 34.12 65.1/41.0/27.9/19.0 (BP = 1.000 ratio = ... )"
};

// refs: one or more reference streams, each as long as hyps (std::invalid_argument otherwise).
// As in sacreBLEU, an empty reference line is skipped (fewer references for that sentence,
// signature nrefs:var) and a sentence left without any reference is an std::invalid_argument.
// Text is UTF-8; lowercasing and the intl tokenizer follow Python's Unicode tables.
BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& refs,
                      const BleuOptions& options = {});
// sacreBLEU's sentence_bleu (effective order on by default there; pass options explicitly).
BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs,
                        const BleuOptions& options);
// Score from precomputed statistics (sacreBLEU BLEU.compute_bleu).
BleuScore compute_bleu(const std::vector<int64_t>& counts, const std::vector<int64_t>& totals,
                       int64_t sys_len, int64_t ref_len, const BleuOptions& options);

// BLEU sufficient statistics of one sentence, or of several summed (sacreBLEU's segment
// statistics [hyp_len, ref_len, correct_1..N, total_1..N]). A corpus score is compute_bleu of
// the element-wise sum, so any subset of sentences can be scored without re-tokenizing.
struct BleuStats {
  std::vector<int64_t> counts;  // [max_order] n-grams of the hypothesis found in the references
                                // (each clipped to its largest count in any one reference)
  std::vector<int64_t> totals;  // [max_order] n-grams of the hypothesis
  int64_t sys_len = 0;          // hypothesis tokens
  int64_t ref_len = 0;          // tokens of the closest reference (ties: the shorter)
  // Element-wise sum; std::invalid_argument when the orders differ.
  BleuStats& operator+=(const BleuStats& other);
};
// One BleuStats per hypothesis ([N], each with options.max_order entries), with corpus_bleu's
// reference handling (refs as reference streams [R][N]; empty references dropped; a sentence
// without any reference, or a stream of the wrong length, is an std::invalid_argument).
// corpus_bleu(hyps, refs, o).score == compute_bleu(sum of these, o).score exactly.
std::vector<BleuStats> sentence_bleu_stats(const std::vector<std::string>& hyps,
                                           const std::vector<std::vector<std::string>>& refs,
                                           const BleuOptions& options = {});
// compute_bleu of summed statistics (the signature is left empty: it needs the reference count).
BleuScore compute_bleu(const BleuStats& summed, const BleuOptions& options);

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;   // 2 = chrF++
  double beta = 2;
  bool lowercase = false;
  bool whitespace = false;
  bool eps_smoothing = false;
};
struct ChrfScore {
  double score = 0;               // 0..100
  std::string name = "chrF2";     // chrF<beta>, with one '+' per word order (chrF2++)
  std::string signature;  // nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:seqzoo-x
  std::string format() const;
};
ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& refs,
                      const ChrfOptions& options = {});
ChrfScore sentence_chrf(const std::string& hyp, const std::vector<std::string>& refs,
                        const ChrfOptions& options = {});

// chrF sufficient statistics of one sentence, or of several summed: for each order, character
// orders 1..char_order then word orders 1..word_order, the triple [hypothesis n-grams,
// reference n-grams, matching n-grams] (sacreBLEU's CHRF segment statistics), taken from the
// reference with the best sentence F-score. The corpus chrF is the F-score of the sum.
struct ChrfStats {
  std::vector<int64_t> counts;  // [3 * (char_order + word_order)]
  // Element-wise sum; std::invalid_argument when the sizes differ.
  ChrfStats& operator+=(const ChrfStats& other);
};
// One ChrfStats per hypothesis ([N]) with corpus_chrf's reference handling;
// corpus_chrf(hyps, refs, o).score == chrf_from_stats(sum of these, o).score exactly.
std::vector<ChrfStats> sentence_chrf_stats(const std::vector<std::string>& hyps,
                                           const std::vector<std::vector<std::string>>& refs,
                                           const ChrfOptions& options = {});
// chrF of (summed) statistics; name is set, signature left empty (it needs the reference count).
ChrfScore chrf_from_stats(const ChrfStats& summed, const ChrfOptions& options);

namespace metrics_detail {
// The chrF of summed statistics as sacreBLEU computes it for a bootstrap resample: there the
// statistics are float32 arrays, so each n_match / n_hyp and n_match / n_ref is a float32
// division (the rest is double, as with NumPy 1.x scalar promotion). For significance.cpp.
double chrf_resample_score(const std::vector<int64_t>& summed, const ChrfOptions& options);
}  // namespace metrics_detail

}  // namespace seqzoo
