#include "tools/app/run_reporter.h"

#include <stdexcept>
#include <utility>

#include "data/common/files.h"
#include "tools/app/curves.h"

namespace seqzoo {

RunReporter::RunReporter(RunDirectory run, int64_t keep_last, std::string title, bool resume)
    : run_(std::move(run)), keep_last_(keep_last), title_(std::move(title)) {
  run_.create();
  log_.open(run_.log(), std::ios::app);
  if (!log_) throw std::runtime_error("cannot open " + run_.log() + " for writing");
  if (!resume) write_text_file(run_.metrics(), metrics_header() + "\n");
}

void RunReporter::line(const std::string& text) {
  log_ << text << std::endl;
  if (!log_) throw std::runtime_error("cannot write " + run_.log() + " (disk full?)");
}

void RunReporter::metrics(const MetricsRow& row) {
  rows_.push_back(row);
  std::ofstream out(run_.metrics(), std::ios::app);
  out << metrics_line(row) << '\n';
  out.flush();
  if (!out) throw std::runtime_error("cannot append to " + run_.metrics());
}

void RunReporter::checkpoint(int64_t step, bool improved, const CheckpointWriter& write) {
  const std::string path = run_.step_checkpoint(step);
  const bool best = improved || !run_.has_checkpoint("best");
  write(path, true);
  run_.publish_checkpoint(path, keep_last_);
  if (best) write(run_.checkpoint("best"), false);  // inference reads no optimizer moments
}

std::string RunReporter::last_checkpoint() const { return run_.has_checkpoint("last") ? run_.checkpoint("last") : ""; }

void RunReporter::resumed(int64_t step) {
  rows_.clear();
  std::string text;
  try {
    text = read_text_file(run_.metrics());
  } catch (const std::runtime_error&) {
    text.clear();  // a run without metrics.tsv resumes with an empty one
  }
  for (const auto& row : parse_metrics(text))
    if (row.step <= step) rows_.push_back(row);
  std::string out = metrics_header() + "\n";
  for (const auto& row : rows_) out += metrics_line(row) + "\n";
  write_text_file(run_.metrics(), out);
}

void RunReporter::flush() { write_text_file(run_.curves(), render_curves_svg(rows_, title_)); }

}  // namespace seqzoo
