#pragma once
// The compare use-case (seqzoo-compare): several systems -- trained runs, or hypothesis files --
// on one test set, side by side, to see what each step of Seq2Seq -> attention -> Transformer
// fixed: corpus BLEU and chrF with paired bootstrap resampling against the first system, both by
// source-length bucket, error analysis (length ratio, brevity penalty, empty outputs, outputs
// that hit the length limit, repeated n-grams), a long-sentence probe built by joining
// consecutive test pairs, the runs' validation curves against time, target tokens and updates,
// and attention maps of one sentence. Writes a markdown summary to `out`, optionally a markdown
// file and a self-contained HTML report (inline SVG, no script, no network).
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "models/metrics/bleu.h"
#include "models/metrics/significance.h"
#include "models/search/search_options.h"
#include "models/training/metrics.h"

namespace seqzoo {

struct CompareOptions {
  std::vector<std::string> systems;  // run directories (with config.yaml) or hypothesis files
  std::vector<std::string> names;    // display names, one per system ("" or absent: the file name)
  std::string test;                  // split of the first run's data folder ("" = its data.test)
  std::string src;                   // or: source file ...
  std::vector<std::string> refs;     // ... and its reference file(s)
  std::string checkpoint = "best";   // which checkpoint of each run
  int64_t workers = 1;               // model copies decoding at once (--workers), each run
  int64_t threads = 0;               // intra-op threads split between them (0 = all cores)
  std::string precision = "fp32";    // of the decoders' matrix products: fp32 | bf16
  BleuOptions bleu;
  ChrfOptions chrf;
  BootstrapOptions bootstrap;
  int64_t max_buckets = 5;           // source-length buckets of the test set ...
  int64_t min_bucket = 100;          // ... each with at least this many sentences
  int64_t probe_max_k = 6;           // long-sentence probe: join k = 1..probe_max_k pairs (0 = no probe)
  int64_t probe_bin_words = 10;      // probe BLEU per bin of this many source words ...
  int64_t probe_min_bin = 20;        // ... shown when the bin holds at least this many inputs
  int64_t attention_line = 0;        // test line (1-based) for the attention maps (0 = automatic)
  std::string html;                  // report file ("" = none)
  std::string markdown;              // markdown file ("" = none)
  std::string title = "seqzoo: systems compared";
};

// --- the parts, exposed for tests ---

// Whitespace-separated words.
int64_t count_words(const std::string& text);

// True when some word n-gram occurs at least twice in the text (a symptom of looping decoders).
bool has_repeated_ngram(const std::string& text, int n);

struct LengthBucket {
  int64_t lo = 0, hi = 0;          // source words, inclusive
  std::vector<int64_t> sentences;  // indices into the test set
};
// Splits the sentences by source length (`lengths[i]` words) into at most max_buckets buckets of
// consecutive lengths, each holding at least min_size sentences (fewer buckets when the set is
// small; one bucket when it holds fewer than 2 * min_size): edges at the length quantiles,
// never splitting one length over two buckets. std::invalid_argument for bad arguments.
std::vector<LengthBucket> length_buckets(const std::vector<int64_t>& lengths, int64_t max_buckets, int64_t min_size);

// The long-sentence probe. For each k = 1..max_k the test set is cut into consecutive groups of
// k pairs (lines 1..k, k+1..2k, ...; a last incomplete group is dropped); each group's sources are
// joined with single spaces into one input, its references likewise into one reference. So k = 1
// is the test set itself, and a probe input has about k times the words of an average sentence.
struct ProbeSet {
  std::vector<std::string> src, ref;
  std::vector<int64_t> k;      // pairs joined, per input
  std::vector<int64_t> first;  // 0-based index of the first joined pair
};
ProbeSet build_long_sentence_probe(const std::vector<std::string>& src, const std::vector<std::string>& ref,
                                   int64_t max_k);

// A run's validation BLEU against wall-clock minutes, training target tokens and updates, from
// its metrics.tsv rows. Target tokens are not logged as such: each train row's throughput
// (tgt_tok_s, measured without validation time) times the time since the previous train row
// gives the tokens per update for intervals without a validation inside; the mean of those is
// used for the other intervals.
struct ValidCurve {
  std::vector<double> minutes, tokens, updates, bleu;  // one entry per validation with a BLEU
  double tgt_tok_s = 0;        // median training throughput (target tokens per second)
  double updates_per_minute = 0;
  double train_minutes = 0;    // elapsed at the last row
  int64_t last_step = 0;
};
ValidCurve valid_curve(const std::vector<MetricsRow>& rows);

// Runs the comparison (progress on `progress`, the markdown summary on `out`). search_for gives
// each run's search options from its own config's (the decoding flags applied on top).
void compare_systems(const CompareOptions& options,
                     const std::function<SearchOptions(const SearchOptions&)>& search_for,
                     const torch::Device& device, std::ostream& out, std::ostream& progress);

}  // namespace seqzoo
