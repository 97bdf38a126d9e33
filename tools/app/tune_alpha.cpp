#include "tools/app/tune_alpha.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "data/common/files.h"
#include "data/corpus.h"
#include "models/training/sources.h"
#include "tools/app/config.h"
#include "tools/app/inference.h"
#include "tools/app/run_directory.h"

namespace seqzoo {
namespace {

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

}  // namespace

const std::vector<double>& alpha_grid() {
  static const std::vector<double> grid{0.6, 1.0, 1.5, 2.0};
  return grid;
}

double tune_alpha(const std::string& run_dir, const torch::Device& device, std::ostream* out) {
  const auto t0 = std::chrono::steady_clock::now();
  const RunDirectory run(run_dir);
  LoadedModel lm = load_run(run_dir, "best", device);
  Config config = load_config(run.config());  // with train: (validation settings), written back below
  if (config.data.valid.empty())
    throw std::invalid_argument(run.config() + ": data.valid is empty; tuning alpha needs a validation set");
  RawCorpus raw = read_split(config.data, config.data.valid);
  TokenizedCorpus valid = tokenize_corpus(raw, lm.tok, config.data, /*filter=*/false);
  TrainConfig scoring = config.train;
  scoring.valid_bleu = true;
  ValidationSet set = make_validation_set(valid, raw, lm.tok, scoring, config.data, config.search);
  if (!set.bleu_with) throw std::invalid_argument("validation set " + raw.src_path + " has no sentences");
  SearchOptions options = config.search;
  double best_alpha = alpha_grid().front(), best_bleu = -1;
  std::ostringstream scores;
  for (double alpha : alpha_grid()) {
    options.alpha = alpha;
    const double bleu = set.bleu_with(*lm.model, device, options);
    scores << (alpha == alpha_grid().front() ? "" : ", ") << fixed(alpha, 1) << " -> " << fixed(bleu, 2);
    if (bleu > best_bleu) best_bleu = bleu, best_alpha = alpha;
  }
  config.search.alpha = best_alpha;
  write_text_file(run.config(), dump_config(config));
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(valid.size()),
                                      config.train.valid_max_sentences > 0 ? config.train.valid_max_sentences
                                                                           : static_cast<int64_t>(valid.size()));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string line = "search.alpha: validation BLEU (best.pt, beam " + std::to_string(config.search.beam_size) +
                           ", " + std::to_string(n) + " sentences) " + scores.str() + "; alpha " +
                           fixed(best_alpha, 1) + " written to " + run.config() + " (" + fixed(seconds, 0) + "s)";
  if (out) *out << line << std::endl;
  std::ofstream log(run.log(), std::ios::app);
  if (log) log << line << '\n';
  return best_alpha;
}

}  // namespace seqzoo
