#pragma once
// One small model of every family the registry knows (its first variant, default options plus small
// sizes), in eval mode: for tests of what is built on the model interface (search, sampling,
// scoring, ensembles), which must work for every family without naming one.
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/common/config_fields.h"
#include "models/registry.h"

namespace seqzoo::test {

inline std::vector<ModelPtr> tiny_family_models(int64_t vocab, uint64_t seed) {
  const std::vector<std::string> sizes = {
      "embed_dim=8", "dropout=0.0", "init_range=0.3", "rnn.hidden_dim=12", "rnn.layers=1",
      "attention.attention_dim=10", "transformer.d_model=16", "transformer.ffn_dim=32", "transformer.heads=2",
      "transformer.encoder_layers=1", "transformer.decoder_layers=1"};
  std::vector<ModelPtr> models;
  for (const auto& family : known_families()) {
    ModelConfig config = default_model_config();
    config.family = family;
    const auto keys = config_field_paths([&](FieldVisitor& v) { config.visit(v); });
    std::vector<std::string> settings = family_variants(family).front();
    settings.insert(settings.end(), sizes.begin(), sizes.end());
    for (const auto& s : settings)
      if (std::find(keys.begin(), keys.end(), s.substr(0, s.find('='))) != keys.end()) apply_model_settings(config, {s});
    torch::manual_seed(seed);
    ModelPtr m = build_model(config, vocab, vocab);
    m->eval();
    models.push_back(m);
  }
  return models;
}

// Random source sentences: n of them, lengths lo..hi, ids from 4 (after pad, unk, bos, eos) to vocab-1.
inline std::vector<std::vector<int64_t>> random_sources(int64_t n, int64_t vocab, int64_t lo, int64_t hi, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = torch::randint(lo, hi + 1, {1}).item<int64_t>();
    const torch::Tensor ids = torch::randint(4, vocab, {len}, torch::kInt64);
    out.emplace_back(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + len);
  }
  return out;
}

}  // namespace seqzoo::test
