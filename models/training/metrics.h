#pragma once
// What a training run measures: one MetricsRow per log step (train) and per validation (valid),
// and their tab-separated text form (the rows of a run's metrics.tsv).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace seqzoo {

// One row of metrics.tsv; NaN fields are written empty.
struct MetricsRow {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  int64_t step = 0;
  int64_t epoch = 0;
  std::string kind = "train";   // train | valid
  double loss = kNone;          // label-smoothed training loss per target token
  double nll = kNone;           // un-smoothed NLL per target token
  double ppl = kNone;           // exp(nll)
  double lr = kNone;
  double src_tok_s = kNone;     // source tokens per second (train rows)
  double tgt_tok_s = kNone;     // target tokens per second
  double valid_loss = kNone;    // label-smoothed validation loss per token
  double valid_nll = kNone;     // validation NLL per token
  double valid_ppl = kNone;     // exp(valid_nll)
  double valid_bleu = kNone;    // corpus BLEU of the validation decode
  double elapsed = 0;           // seconds of training so far
};

// The tab-separated header and a row (fixed column order).
std::string metrics_header();
std::string metrics_line(const MetricsRow& row);
// Parses metrics.tsv text (header + rows); malformed lines are skipped.
std::vector<MetricsRow> parse_metrics(const std::string& text);

}  // namespace seqzoo
