#include "models/core/registry.h"

#include <functional>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "models/rnn/attention_rnn.h"
#include "models/rnn/seq2seq.h"
#include "models/transformer/transformer.h"

// Families: one include and one table row each (explicit registration, no static initialisers).

namespace seqzoo {
namespace {

using Factory = std::function<ModelPtr(const ModelConfig&, int64_t, int64_t)>;

const std::vector<std::pair<std::string, Factory>>& families() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"seq2seq", make_seq2seq},
      {"attention", make_attention},
      {"transformer", make_transformer},
  };
  return table;
}

}  // namespace

std::vector<std::string> known_families() {
  std::vector<std::string> names;
  for (const auto& f : families()) names.push_back(f.first);
  return names;
}

ModelPtr build_model(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size) {
  for (const auto& f : families())
    if (f.first == config.family) return f.second(config, src_vocab_size, tgt_vocab_size);
  std::string known;
  for (const auto& n : known_families()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("model.family: unknown family '" + config.family + "' (known: " +
                              known + ")");
}

int64_t count_parameters(const torch::nn::Module& model) {
  std::unordered_set<const void*> seen;
  int64_t n = 0;
  for (const auto& p : model.parameters())
    if (p.requires_grad() && seen.insert(p.data_ptr()).second) n += p.numel();
  return n;
}

}  // namespace seqzoo
