#pragma once
// What seqzoo-evaluate computes on top of the translations: scores against references and the
// teacher-forced test perplexity.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "models/core/model.h"
#include "models/metrics/bleu.h"

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

// Writes lines to path atomically (temp file + rename).
void write_lines(const std::string& path, const std::vector<std::string>& lines);

}  // namespace seqzoo
