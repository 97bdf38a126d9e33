#pragma once
// The one owner of a run directory's layout (DESIGN.md): every path of a run is spelled here.
//
//   <run>/config.yaml          the resolved config (what evaluate and translate rebuild the model from)
//   <run>/spm.model            joint SentencePiece model (or spm.src.model + spm.tgt.model)
//   <run>/checkpoints/         step-N.pt (the last train.keep_last), last.pt, best.pt, averaged.pt
//   <run>/metrics.tsv          one row per log step and validation
//   <run>/curves.svg           learning curves
//   <run>/train.log            what training printed
//   <run>/eval/                hypotheses written by seqzoo-evaluate
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace seqzoo {

// An exclusive lock on a run directory (flock on <run>/.lock, which holds the owner's PID), held
// for the whole of a training run or anything else that writes the run. The kernel releases it
// when the process ends, kill -9 included.
class RunLock {
 public:
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

 private:
  friend class RunDirectory;
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
};

class RunDirectory {
 public:
  explicit RunDirectory(std::string root);

  const std::string& root() const { return root_; }
  std::string config() const;
  TokenizerPaths tokenizers() const;
  // Plain-text copies of the training sides that SentencePiece trains on (removed afterwards).
  std::string tokenizer_input(bool source) const;
  std::string checkpoint_dir() const;
  // "best", "last", "averaged" -> checkpoints/<name>.pt; anything else is taken as a path.
  std::string checkpoint(const std::string& name) const;
  std::string step_checkpoint(int64_t step) const;
  // The step-N.pt files, by increasing N.
  std::vector<std::string> step_checkpoints() const;
  std::string metrics() const;
  std::string curves() const;
  std::string log() const;
  std::string eval_dir() const;

  bool exists() const;
  bool has_config() const;
  bool has_tokenizers() const;
  bool has_checkpoint(const std::string& name) const;
  // ", "-separated names of the .pt files in checkpoints/ ("" when none).
  std::string list_checkpoints() const;
  // Creates the folder (std::runtime_error naming it); checkpoints/ comes with the first checkpoint.
  void create() const;
  // Creates the folder and locks it; std::runtime_error naming the holder's PID when another
  // process holds the lock.
  RunLock lock() const;
  // Removes the *.tmp files a kill during a write left in the run and its checkpoints/; returns
  // their names (", "-separated, "" when none).
  std::string remove_stale_temporaries() const;

  // Makes last.pt an independent copy of `step_path`, atomically, then removes all but the newest
  // keep_last step-N.pt files. (best.pt is written by the run's reporter, without optimizer state.)
  void publish_checkpoint(const std::string& step_path, int64_t keep_last) const;
  // Averages the newest k step checkpoints into averaged.pt; returns its path.
  std::string average_checkpoints(int64_t k) const;

 private:
  std::string path(const std::string& name) const;
  std::string root_;
};

}  // namespace seqzoo
