#pragma once
// Slim export (seqzoo-train --export DIR): an inference-only run that evaluate, translate and score
// load like any other: the run's config.yaml and tokenizer files, and one checkpoint
// (checkpoints/best.pt) with the model's weights alone (no optimizer moments, no training state),
// optionally stored in bf16 or fp16 (loaded back into fp32).
#include <cstdint>
#include <ostream>
#include <string>

namespace seqzoo {

struct ExportResult {
  std::string checkpoint;         // the exported checkpoint's path
  int64_t source_bytes = 0;       // size of the checkpoint exported from
  int64_t bytes = 0;              // size of the exported checkpoint
};

// Exports checkpoint `checkpoint` (best | last | averaged | a path) of `run_dir` to `out_dir` (which
// must not hold a run yet) with weights of `dtype` (fp32 | bf16 | fp16). Errors name the file or
// the option.
ExportResult export_run(const std::string& run_dir, const std::string& checkpoint, const std::string& out_dir,
                        const std::string& dtype);

}  // namespace seqzoo
