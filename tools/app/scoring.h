#pragma once
// The score use-case (seqzoo-score): forced decoding of given translations with a run (or an
// ensemble), one line out per pair in, in input order: the target's log-probability (the sum over
// its subwords and eos, natural log) and its mean per token; with per_token, the subwords and each
// one's log-prob. Also rescores a seqzoo-translate --nbest list against its sources.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tools/app/inference.h"

namespace seqzoo {

struct ScoreOptions {
  std::string src, tgt;            // parallel files; both empty = TSV "SOURCE<TAB>TARGET" lines from `fd`
  std::string nbest;               // a seqzoo-translate --nbest file to rescore (its sources: src)
  bool per_token = false;          // two more columns: the target's subwords (and </s>), their log-probs
  bool replace_invalid = false;    // replace invalid UTF-8 by U+FFFD instead of failing
  int64_t batch_tokens = 4000;     // pairs x longest side per batch
  int64_t max_batch_lines = 1000;  // pairs read and scored together from a stream
};

// One pair's result as printed: "SUM<TAB>MEAN[<TAB>PIECES<TAB>LOGPROBS]" (4 decimals).
struct PairScore {
  double sum = 0, mean = 0;
  std::vector<std::string> pieces;   // the target's subwords and "</s>"
  std::vector<float> log_probs;      // one per piece
};

// Scores raw text pairs (line numbers first_line.. in errors, named `input_name`): invalid UTF-8
// and empty sources are std::invalid_argument naming the line; an empty target scores eos alone.
std::vector<PairScore> score_pairs(const LoadedModel& run, const std::vector<std::string>& srcs,
                                   const std::vector<std::string>& tgts, const ScoreOptions& options,
                                   const std::string& input_name, int64_t first_line = 1);

// Runs the use-case: writes one line per pair (or, with options.nbest, each n-best line followed by
// "<TAB>SUM<TAB>MEAN") to `out`. Returns the number of lines scored.
int64_t score_stream(const LoadedModel& run, int fd, std::ostream& out, const ScoreOptions& options);

}  // namespace seqzoo
