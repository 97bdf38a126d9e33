#pragma once
// What a training run reports: progress lines, <run_dir>/metrics.tsv and the learning curves
// <run_dir>/curves.svg (hand-written SVG: train loss and valid loss over steps, valid BLEU).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace seqzoo {

// Escapes & < > " for XML/SVG text and attributes.
std::string xml_escape(const std::string& s);

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

// "45s", "12m03s", "3h07m12s".
std::string format_duration(double seconds);
// A compact float: "4.1e-04", "3.412", ... (printf %.*g with some digits).
std::string format_number(double value, int digits);

// Learning curves as a self-contained SVG document: an upper panel with train and valid loss,
// a lower panel with valid BLEU, each with axes, ticks and a legend.
std::string render_curves_svg(const std::vector<MetricsRow>& rows, const std::string& title);

// Writes text to path atomically (temp file + rename); std::runtime_error naming the file.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace seqzoo
