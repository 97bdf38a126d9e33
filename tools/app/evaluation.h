#pragma once
// The evaluate use-case (seqzoo-evaluate): translate a test set with a run and score it against
// its references (sacreBLEU-exact BLEU with its signature, chrF, teacher-forced perplexity, speed),
// or score an existing hypothesis file.
#include <torch/torch.h>

#include <ostream>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "models/core/model.h"
#include "models/metrics/bleu.h"
#include "tools/app/inference.h"
#include "tools/app/translation.h"

namespace seqzoo {

struct Perplexity {
  double nll = 0;        // mean negative log-likelihood per target token (eos included), nats
  double ppl = 0;        // exp(nll)
  int64_t tokens = 0;    // target tokens scored
  int64_t skipped = 0;   // pairs with an empty side (not scored)
};

// Teacher-forced perplexity of refs given srcs (line-aligned; std::invalid_argument otherwise).
Perplexity corpus_perplexity(Seq2SeqModelImpl& model, const Tokenizers& tok, const std::vector<std::string>& srcs,
                             const std::vector<std::string>& refs, int64_t batch_tokens, const torch::Device& device);

// Reads the reference files and checks each has `expected` lines, naming both files and counts
// (`what` names the other side, e.g. "hypotheses out.txt").
std::vector<std::vector<std::string>> read_references(const std::vector<std::string>& paths, size_t expected,
                                                      const std::string& what);


struct EvaluateOptions {
  std::string src;                 // source file to translate ("" = a split of the run's data)
  std::vector<std::string> refs;   // its reference files (with src)
  std::string test;                // the split (a prefix in data.dir, or .tsv; "" = the run's data.test)
  std::string output;              // where the hypotheses go ("" = <run>/eval/<name>[.<output_tag>].hyp)
  std::string output_tag;          // e.g. "ensemble2": keeps an ensemble's hypotheses apart from the run's own
  BleuOptions bleu;
  ChrfOptions chrf;
};

// Translates the test set (options.src + refs, or the split in the run's direction), writes the
// hypotheses, prints speed, perplexity, BLEU and chrF with their signatures to `out`.
void evaluate_run(const LoadedModel& run, const std::string& run_dir, const TranslateOptions& translate,
                  const EvaluateOptions& options, std::ostream& out);

// Scores an existing hypothesis file against refs (no model); prints BLEU and chrF to `out`.
void score_hypotheses(const std::string& hyp_path, const std::vector<std::string>& refs, const BleuOptions& bleu,
                      const ChrfOptions& chrf, std::ostream& out);

}  // namespace seqzoo
