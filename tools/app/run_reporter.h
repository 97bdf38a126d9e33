#pragma once
// The trainer's reporter for a run directory: train.log, metrics.tsv, curves.svg and the
// checkpoints (step-N.pt, last.pt, best.pt, rotation), at the paths RunDirectory names.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "models/training/reporter.h"
#include "tools/app/run_directory.h"

namespace seqzoo {

class RunReporter : public TrainReporter {
 public:
  // Opens train.log for appending; a fresh run (resume = false) starts metrics.tsv anew.
  // keep_last: step checkpoints kept; title: the curves' title.
  RunReporter(RunDirectory run, int64_t keep_last, std::string title, bool resume);

  void line(const std::string& text) override;
  void metrics(const MetricsRow& row) override;
  void checkpoint(int64_t step, bool improved, const CheckpointWriter& write) override;
  std::string last_checkpoint() const override;
  void resumed(int64_t step) override;
  void flush() override;

  const std::vector<MetricsRow>& rows() const { return rows_; }

 private:
  RunDirectory run_;
  int64_t keep_last_;
  std::string title_;
  std::vector<MetricsRow> rows_;
  std::ofstream log_;
};

}  // namespace seqzoo
