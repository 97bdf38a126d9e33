#include "models/core/model.h"

#include <unordered_set>

namespace seqzoo {

int64_t count_parameters(const torch::nn::Module& model) {
  std::unordered_set<const void*> seen;
  int64_t n = 0;
  for (const auto& p : model.parameters())
    if (p.requires_grad() && seen.insert(p.data_ptr()).second) n += p.numel();
  return n;
}

}  // namespace seqzoo
