#pragma once
// Length-penalty tuning (train.tune_alpha, seqzoo-train --tune-alpha).
#include <torch/torch.h>

#include <ostream>
#include <string>
#include <vector>

namespace seqzoo {

// The length-penalty exponents tuning chooses from (GNMT, Wu et al. 2016).
const std::vector<double>& alpha_grid();

// Decodes the validation sentences (data.valid, the first train.valid_max_sentences) with the
// run's best.pt, beam search.beam_size and each alpha of alpha_grid(); writes the alpha with the
// highest BLEU (ties: the smaller) into the run's config.yaml, which evaluate and translate read,
// and logs the scores to `out` and train.log. Short runs stop their sentences early; this is where
// a larger alpha pays. Returns the chosen alpha.
double tune_alpha(const std::string& run_dir, const torch::Device& device, std::ostream* out);

}  // namespace seqzoo
