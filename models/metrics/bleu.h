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

}  // namespace seqzoo
