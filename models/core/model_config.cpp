#include "models/core/model_config.h"

namespace seqzoo {

ModelConfig::ModelConfig(const ModelConfig& other)
    : family(other.family), embed_dim(other.embed_dim), dropout(other.dropout),
      tie_embeddings(other.tie_embeddings), init_range(other.init_range), families(other.families) {
  for (const auto& s : other.sections_) sections_.push_back(s->clone());
}

ModelConfig& ModelConfig::operator=(const ModelConfig& other) {
  if (this != &other) {
    ModelConfig copy(other);
    *this = std::move(copy);
  }
  return *this;
}

OptionSection* ModelConfig::find(std::type_index type) const {
  for (const auto& s : sections_)
    if (s->type() == type) return s.get();
  return nullptr;
}

void ModelConfig::visit(FieldVisitor& v) {
  v.field("family", family, "model family (the registry's list: models/registry.cpp)", families);
  v.field("embed_dim", embed_dim, "RNN families: embedding size (the Transformer uses d_model)", Range::at_least(1));
  v.field("dropout", dropout, "dropout on embeddings and between layers", Range::probability());
  v.field("tie_embeddings", tie_embeddings,
          "share target embedding and output projection (and the source embedding when the vocabulary is joint)");
  v.field("init_range", init_range, "RNN families: uniform(-r, r) init (Sutskever et al. 2014); 0 = orthogonal",
          Range::non_negative());
  for (auto& s : sections_) {
    OptionSection* section = s.get();
    v.section(section->key(), section->doc(), [section](FieldVisitor& sub) { section->visit(sub); });
  }
}

std::vector<std::string> ModelConfig::section_keys() const {
  std::vector<std::string> keys;
  for (const auto& s : sections_) keys.emplace_back(s->key());
  return keys;
}

void ModelConfig::check() const {
  for (const auto& s : sections_) s->check();
}

}  // namespace seqzoo
