#pragma once
// The sacreBLEU README example and BLEU options, shared by the BLEU and chrF tests.
#include <string>
#include <vector>

#include "models/metrics/bleu.h"

namespace seqzoo::test {

inline const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.",
                                        "The man had just bitten him."};
inline const std::vector<std::string> kRef1 = {"The dog bit the man.", "It was not unexpected.",
                                        "The man bit him first."};
inline const std::vector<std::string> kRef2 = {"The dog had bit the man.", "No one was surprised.",
                                        "The man had bitten the dog."};

inline BleuOptions opts(const std::string& tokenize = "13a", const std::string& smooth = "exp",
                 double value = -1, bool effective = false, bool lowercase = false) {
  BleuOptions o;
  o.tokenize = tokenize;
  o.smooth = smooth;
  o.smooth_value = value;
  o.effective_order = effective;
  o.lowercase = lowercase;
  return o;
}

}  // namespace seqzoo::test
