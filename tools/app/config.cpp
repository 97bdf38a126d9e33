#include "tools/app/config.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "data/common/files.h"
#include "tools/app/runtime.h"

namespace seqzoo {
namespace {

// Keys that moved (old -> new; "" = dropped): a config written before the move (a run directory's
// config.yaml) still loads.
std::vector<RenamedKey> renamed_keys(bool with_train) {
  if (with_train) return {{"search.tune_alpha", "train.tune_alpha"}};
  return {{"search.tune_alpha", ""}, {"train", ""}};  // inference: training's section is not read
}

void expand_run_dir(RunSettings& c) {
  auto replace_all = [](std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  };
  replace_all(c.run_dir, "{src_lang}", c.data.src_lang);
  replace_all(c.run_dir, "{tgt_lang}", c.data.tgt_lang);
}

// Parses files and overrides in turn onto one config struct (Config, or RunSettings for inference).
template <class C>
class Loader {
 public:
  explicit Loader(bool with_train) : renamed_(renamed_keys(with_train)) {}
  void text(const std::string& yaml, const std::string& origin) {
    add(parse_config_text(yaml, origin, visit(), renamed_));
    origins_.push_back(origin);
  }
  void file(const std::string& path) {
    std::string yaml;
    try {
      yaml = read_text_file(path);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string("config file: ") + e.what());
    }
    text(yaml, path);
  }
  C finish(const std::vector<std::string>& overrides) {
    for (const auto& o : overrides) add({apply_config_override(o, visit())});
    if (std::find(seen_.begin(), seen_.end(), "model.family") == seen_.end()) {
      std::string from, known;
      for (const auto& o : origins_) from += (from.empty() ? "" : ", ") + o;
      for (const auto& f : config_.model.families) known += (known.empty() ? "" : ", ") + f;
      throw std::invalid_argument((from.empty() ? std::string("config") : from) +
                                  ": model.family: missing required key (one of " + known + ")");
    }
    expand_run_dir(config_);
    check_config_ranges(visit());
    config_.check();
    return config_;
  }

 private:
  VisitFn visit() {
    return [this](FieldVisitor& v) { config_.visit(v); };
  }
  void add(const std::vector<std::string>& paths) { seen_.insert(seen_.end(), paths.begin(), paths.end()); }
  C config_;
  std::vector<RenamedKey> renamed_;
  std::vector<std::string> seen_, origins_;
};

}  // namespace

void RunSettings::visit(FieldVisitor& v) {
  v.field("run_dir", run_dir,
          "run directory: train writes it, evaluate and translate read it; {src_lang} and {tgt_lang} are replaced");
  v.field("device", device, "compute device", {"cpu", "cuda", "auto"});
  v.field("threads", threads, "intra-op CPU threads (0 = all cores)", Range{0, static_cast<double>(kMaxThreads)});
  v.section("data", "parallel corpus and batching", [&](FieldVisitor& s) { data.visit(s); });
  v.section("tokenizer", "SentencePiece subword model", [&](FieldVisitor& s) { tokenizer.visit(s); });
  v.section("model", "model family and sizes", [&](FieldVisitor& s) { model.visit(s); });
  v.section("search", "decoding (greedy / beam search)", [&](FieldVisitor& s) { search.visit(s); });
}

void RunSettings::check() const {
  data.check();
  tokenizer.check();
  model.check();
  search.check();
}

void Config::visit(FieldVisitor& v) {
  RunSettings::visit(v);
  v.section("train", "optimisation, validation, checkpoints", [&](FieldVisitor& s) { train.visit(s); });
}

RunSettings load_run_settings(const std::string& path) {
  Loader<RunSettings> loader(/*with_train=*/false);
  loader.file(path);
  return loader.finish({});
}

Config parse_config(const std::string& yaml_text, const std::string& origin, const std::vector<std::string>& overrides) {
  Loader<Config> loader(/*with_train=*/true);
  loader.text(yaml_text, origin);
  return loader.finish(overrides);
}

Config load_config(const std::vector<std::string>& paths, const std::vector<std::string>& overrides) {
  if (paths.empty()) throw std::invalid_argument("no config file given");
  Loader<Config> loader(/*with_train=*/true);
  for (const auto& p : paths) loader.file(p);
  return loader.finish(overrides);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  return load_config(std::vector<std::string>{path}, overrides);
}

std::string dump_config(const Config& config, bool comments) {
  Config copy = config;
  std::string text = dump_config_fields([&](FieldVisitor& v) { copy.visit(v); }, comments);
  return comments ? "# seqzoo configuration: every key, with its value and a one-line comment.\n" + text : text;
}

void validate_config(const Config& c) {
  Config copy = c;
  check_config_ranges([&](FieldVisitor& v) { copy.visit(v); });
  c.check();
  c.train.check();
}

}  // namespace seqzoo
