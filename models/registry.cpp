#include "models/registry.h"

#include <stdexcept>

#include "models/rnn/attention_rnn.h"
#include "models/rnn/seq2seq.h"
#include "models/transformer/transformer.h"

namespace seqzoo {
namespace {

struct Family {
  const char* name;
  ModelPtr (*make)(const ModelConfig&, int64_t src_vocab_size, int64_t tgt_vocab_size);
  void (*declare_options)(ModelConfig&);
  std::vector<std::vector<std::string>> variants;
};

// One row per family (explicit registration, no static initialisers).
const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      {"seq2seq", make_seq2seq, [](ModelConfig& c) { c.add_options<RnnConfig>(); },
       {{"rnn.cell=lstm"},
        {"rnn.cell=lstm", "rnn.bidirectional=true", "rnn.reverse_source=true"},
        {"rnn.cell=gru", "rnn.bidirectional=true"},
        {"rnn.cell=gru", "rnn.context_every_step=true", "rnn.reverse_source=true"}}},
      {"attention", make_attention,
       [](ModelConfig& c) {
         c.add_options<RnnConfig>();
         c.add_options<AttentionConfig>();
       },
       {{"attention.type=bahdanau"},
        {"attention.type=dot", "attention.input_feeding=false"},
        {"attention.type=general", "rnn.cell=gru", "rnn.bidirectional=true"},
        {"attention.type=general", "attention.input_feeding=false"},
        {"attention.type=concat", "rnn.reverse_source=true"},
        {"attention.type=bahdanau", "attention.ordering=bahdanau", "rnn.cell=gru", "rnn.bidirectional=true"},
        {"attention.type=dot", "attention.ordering=bahdanau"}}},
      {"transformer", make_transformer, [](ModelConfig& c) { c.add_options<TransformerConfig>(); },
       {{"transformer.pre_norm=true"}, {"transformer.pre_norm=false", "transformer.activation=gelu"}}},
  };
  return table;
}

const Family& find_family(const std::string& name) {
  for (const auto& f : families())
    if (name == f.name) return f;
  std::string known;
  for (const auto& n : known_families()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("model.family: unknown family '" + name + "' (known: " + known + ")");
}

}  // namespace

ModelConfig default_model_config() {
  ModelConfig config;
  for (const auto& f : families()) {
    config.families.emplace_back(f.name);
    f.declare_options(config);
  }
  return config;
}

void check_model_config(const ModelConfig& config) {
  ModelConfig copy = config;
  check_config_ranges([&](FieldVisitor& v) { v.section("model", "", [&](FieldVisitor& s) { copy.visit(s); }); });
  config.check();
}

ModelPtr build_model(const ModelConfig& config, int64_t src_vocab_size, int64_t tgt_vocab_size) {
  const Family& family = find_family(config.family);
  check_model_config(config);
  return family.make(config, src_vocab_size, tgt_vocab_size);
}

std::vector<std::string> known_families() {
  std::vector<std::string> names;
  for (const auto& f : families()) names.emplace_back(f.name);
  return names;
}

std::vector<std::string> family_sections(const std::string& family) {
  ModelConfig config;
  find_family(family).declare_options(config);
  return config.section_keys();
}

std::vector<std::vector<std::string>> family_variants(const std::string& family) {
  return find_family(family).variants;
}

void apply_model_settings(ModelConfig& config, const std::vector<std::string>& settings) {
  for (const auto& s : settings)
    apply_config_override("model." + s,
                          [&](FieldVisitor& v) { v.section("model", "", [&](FieldVisitor& m) { config.visit(m); }); });
}

}  // namespace seqzoo
