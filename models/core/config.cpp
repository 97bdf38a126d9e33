#include "models/core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>
#include <stdexcept>

namespace seqzoo {
namespace {

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "; did you mean X?" for the closest known key, when it is close enough.
std::string suggestion(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& k : known) {
    size_t d = edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  if (!best.empty() && best_d <= std::max<size_t>(2, key.size() / 3)) return "; did you mean " + best + "?";
  std::string all;
  for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
  return "; known keys: " + all;
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
  std::string s = suggestion(key, known);
  return s.rfind("; did you mean", 0) == 0 ? s : std::string();
}

std::string where(const std::string& origin, const YAML::Node& node) {
  if (node.Mark().line >= 0) return origin + ":" + std::to_string(node.Mark().line + 1) + ": ";
  return origin + ": ";
}

// Collects the names of the fields of one level (for suggestions) and the full key paths.
class KeyLister : public FieldVisitor {
 public:
  explicit KeyLister(std::string prefix = "") : prefix_(std::move(prefix)) {}
  std::vector<std::string> names;  // this level's keys (fields and sections)
  std::vector<std::string> paths;  // every leaf path below
  std::set<std::string> sections;

  void field(const char* k, int64_t&, const char*) override { leaf(k); }
  void field(const char* k, double&, const char*) override { leaf(k); }
  void field(const char* k, bool&, const char*) override { leaf(k); }
  void field(const char* k, std::string&, const char*, const std::vector<std::string>&) override { leaf(k); }
  void section(const char* k, const char*, const std::function<void(FieldVisitor&)>& body) override {
    names.push_back(k);
    sections.insert(k);
    KeyLister sub(join_path(prefix_, k));
    body(sub);
    paths.insert(paths.end(), sub.paths.begin(), sub.paths.end());
  }

 private:
  void leaf(const char* k) {
    names.push_back(k);
    paths.push_back(join_path(prefix_, k));
  }
  std::string prefix_;
};

class ParseVisitor : public FieldVisitor {
 public:
  ParseVisitor(const YAML::Node& node, std::string prefix, const std::string& origin,
               std::vector<std::string>* seen_paths)
      : node_(node), prefix_(std::move(prefix)), origin_(origin), seen_paths_(seen_paths) {}

  void field(const char* k, int64_t& v, const char*) override {
    YAML::Node n = take(k);
    if (!n) return;
    const std::string s = scalar(n, k, "an integer");
    errno = 0;
    char* end = nullptr;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) type_error(n, k, "an integer", s);
    v = x;
  }
  void field(const char* k, double& v, const char*) override {
    YAML::Node n = take(k);
    if (!n) return;
    const std::string s = scalar(n, k, "a number");
    errno = 0;
    char* end = nullptr;
    double x = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x)) type_error(n, k, "a number", s);
    v = x;
  }
  void field(const char* k, bool& v, const char*) override {
    YAML::Node n = take(k);
    if (!n) return;
    const std::string s = scalar(n, k, "a boolean (true/false)");
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") v = true;
    else if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") v = false;
    else type_error(n, k, "a boolean (true/false)", s);
  }
  void field(const char* k, std::string& v, const char*, const std::vector<std::string>& choices) override {
    YAML::Node n = take(k);
    if (!n) return;
    std::string s = n.IsNull() ? std::string() : scalar(n, k, "a string");
    if (!choices.empty() && std::find(choices.begin(), choices.end(), s) == choices.end()) {
      std::string all;
      for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
      throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) + ": '" + s +
                                  "' is not one of " + all + did_you_mean(s, choices));
    }
    v = s;
  }
  void section(const char* k, const char*, const std::function<void(FieldVisitor&)>& body) override {
    YAML::Node n = take(k);
    if (!n || n.IsNull()) return;
    if (!n.IsMap())
      throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) +
                                  ": expected a mapping of keys (a section)");
    ParseVisitor sub(n, join_path(prefix_, k), origin_, seen_paths_);
    body(sub);
    sub.check_unknown(body);
  }

  // Rejects keys of this level that no field consumed.
  void check_unknown(const std::function<void(FieldVisitor&)>& body) {
    KeyLister lister;
    body(lister);
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (std::find(consumed_.begin(), consumed_.end(), key) == consumed_.end())
        throw std::invalid_argument(where(origin_, it->first) + join_path(prefix_, key) +
                                    ": unknown key" + suggestion(key, lister.names));
    }
  }

 private:
  YAML::Node take(const char* k) {
    if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node n = node_[k];
    if (!n.IsDefined()) return n;
    consumed_.push_back(k);
    if (seen_paths_) seen_paths_->push_back(join_path(prefix_, k));
    return n;
  }
  std::string scalar(const YAML::Node& n, const char* k, const char* expected) {
    if (!n.IsScalar()) type_error(n, k, expected, n.IsMap() ? "a mapping" : n.IsSequence() ? "a list" : "null");
    return n.Scalar();
  }
  [[noreturn]] void type_error(const YAML::Node& n, const char* k, const char* expected,
                               const std::string& got) {
    throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) + ": expected " + expected +
                                ", got '" + got + "'");
  }

  YAML::Node node_;
  std::string prefix_;
  const std::string& origin_;
  std::vector<std::string>* seen_paths_;
  std::vector<std::string> consumed_;
};

std::string format_double(double x) {
  for (int p = 1; p <= 17; ++p) {
    std::ostringstream os;
    os << std::setprecision(p) << x;
    if (std::strtod(os.str().c_str(), nullptr) == x) {
      std::string s = os.str();
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
  }
  std::ostringstream os;
  os << std::setprecision(17) << x;
  return os.str();
}

std::string quote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/'))
      plain = false;
  if (plain && (s == "true" || s == "false" || s == "yes" || s == "no" || s == "null" || s == "on" || s == "off"))
    plain = false;
  if (plain) {  // a string that would read back as a number needs quotes
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    if (*end == '\0') plain = false;
  }
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class DumpVisitor : public FieldVisitor {
 public:
  DumpVisitor(std::ostringstream& os, int indent, bool comments)
      : os_(os), indent_(indent), comments_(comments) {}
  void field(const char* k, int64_t& v, const char* doc) override { line(k, std::to_string(v), doc); }
  void field(const char* k, double& v, const char* doc) override { line(k, format_double(v), doc); }
  void field(const char* k, bool& v, const char* doc) override { line(k, v ? "true" : "false", doc); }
  void field(const char* k, std::string& v, const char* doc, const std::vector<std::string>& choices) override {
    std::string d = doc;
    if (!choices.empty()) {
      d += " [";
      for (size_t i = 0; i < choices.size(); ++i) d += (i ? " | " : "") + choices[i];
      d += "]";
    }
    line(k, quote(v), d);
  }
  void section(const char* k, const char* doc, const std::function<void(FieldVisitor&)>& body) override {
    os_ << std::string(indent_, ' ') << k << ":";
    if (comments_) os_ << "  # " << doc;
    os_ << "\n";
    DumpVisitor sub(os_, indent_ + 2, comments_);
    body(sub);
  }

 private:
  void line(const char* k, const std::string& value, const std::string& doc) {
    std::string text = std::string(indent_, ' ') + k + ": " + value;
    os_ << text;
    if (comments_) os_ << std::string(text.size() < 40 ? 40 - text.size() : 1, ' ') << "# " << doc;
    os_ << "\n";
  }
  std::ostringstream& os_;
  int indent_;
  bool comments_;
};

// Sets root[a][b][c] = value for "a.b.c=value", after checking the path is a known key.
void apply_override(YAML::Node& root, const std::string& spec, Config& probe) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--set " + spec + ": expected key=value (e.g. train.max_steps=100)");
  const std::string path = spec.substr(0, eq), value = spec.substr(eq + 1);
  KeyLister lister;
  probe.visit(lister);
  if (std::find(lister.paths.begin(), lister.paths.end(), path) == lister.paths.end())
    throw std::invalid_argument("--set " + spec + ": " + path + ": unknown key" +
                                suggestion(path, lister.paths));
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next.IsMap()) {
      next = YAML::Node(YAML::NodeType::Map);
      chain.back()[parts[i]] = next;
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(origin + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  if (root.IsNull() || !root.IsDefined()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw std::invalid_argument(origin + ": expected a YAML mapping at the top level");
  Config config;
  for (const auto& o : overrides) apply_override(root, o, config);

  std::vector<std::string> seen;
  ParseVisitor parser(root, "", origin, &seen);
  auto body = [&](FieldVisitor& v) { config.visit(v); };
  body(parser);
  parser.check_unknown(body);
  // The family is the one choice a config file must make explicitly.
  if (std::find(seen.begin(), seen.end(), "model.family") == seen.end())
    throw std::invalid_argument(origin + ": model.family: missing required key (one of seq2seq, attention, transformer)");
  validate_config(config);
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open config file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), path, overrides);
}

std::string dump_config(const Config& config, bool comments) {
  std::ostringstream os;
  if (comments) os << "# seqzoo configuration: every key, with its value and a one-line comment.\n";
  DumpVisitor dumper(os, 0, comments);
  Config copy = config;
  copy.visit(dumper);
  return os.str();
}

void validate_config(const Config& c) {
  auto positive = [](const char* key, double value) {
    if (!(value > 0)) throw std::invalid_argument(std::string(key) + ": must be > 0, got " + format_double(value));
  };
  auto non_negative = [](const char* key, double value) {
    if (value < 0) throw std::invalid_argument(std::string(key) + ": must be >= 0, got " + format_double(value));
  };
  auto probability = [](const char* key, double value) {
    if (value < 0 || value >= 1) throw std::invalid_argument(std::string(key) + ": must be in [0, 1), got " + format_double(value));
  };
  if (c.data.src_lang.empty()) throw std::invalid_argument("data.src_lang: required (empty)");
  if (c.data.tgt_lang.empty()) throw std::invalid_argument("data.tgt_lang: required (empty)");
  if (c.data.train.empty()) throw std::invalid_argument("data.train: required (empty)");
  non_negative("threads", static_cast<double>(c.threads));
  positive("data.min_len", c.data.min_len);
  if (c.data.max_len < c.data.min_len) throw std::invalid_argument("data.max_len: must be >= data.min_len");
  non_negative("data.max_len_ratio", c.data.max_len_ratio);
  positive("data.batch_tokens", c.data.batch_tokens);
  non_negative("data.max_sentences", c.data.max_sentences);
  non_negative("data.max_train_pairs", c.data.max_train_pairs);
  positive("tokenizer.vocab_size", c.tokenizer.vocab_size);
  if (c.tokenizer.vocab_size < 8) throw std::invalid_argument("tokenizer.vocab_size: must be >= 8");
  if (c.tokenizer.character_coverage <= 0 || c.tokenizer.character_coverage > 1)
    throw std::invalid_argument("tokenizer.character_coverage: must be in (0, 1]");
  non_negative("tokenizer.input_sentence_size", c.tokenizer.input_sentence_size);
  positive("model.embed_dim", c.model.embed_dim);
  probability("model.dropout", c.model.dropout);
  non_negative("model.init_range", c.model.init_range);
  positive("model.rnn.hidden_dim", c.model.rnn.hidden_dim);
  positive("model.rnn.layers", c.model.rnn.layers);
  non_negative("model.attention.attention_dim", c.model.attention.attention_dim);
  const auto& t = c.model.transformer;
  positive("model.transformer.d_model", t.d_model);
  positive("model.transformer.ffn_dim", t.ffn_dim);
  positive("model.transformer.heads", t.heads);
  if (t.d_model % t.heads != 0)
    throw std::invalid_argument("model.transformer.heads: must divide d_model (" + std::to_string(t.d_model) +
                                " % " + std::to_string(t.heads) + " != 0)");
  positive("model.transformer.encoder_layers", t.encoder_layers);
  positive("model.transformer.decoder_layers", t.decoder_layers);
  probability("model.transformer.attention_dropout", t.attention_dropout);
  probability("model.transformer.activation_dropout", t.activation_dropout);
  non_negative("train.max_steps", c.train.max_steps);
  non_negative("train.max_epochs", c.train.max_epochs);
  non_negative("train.max_minutes", c.train.max_minutes);
  positive("train.lr", c.train.lr);
  probability("train.beta1", c.train.beta1);
  probability("train.beta2", c.train.beta2);
  positive("train.eps", c.train.eps);
  non_negative("train.weight_decay", c.train.weight_decay);
  non_negative("train.warmup_steps", c.train.warmup_steps);
  if (c.train.plateau_factor <= 0 || c.train.plateau_factor > 1)
    throw std::invalid_argument("train.plateau_factor: must be in (0, 1]");
  positive("train.plateau_patience", c.train.plateau_patience);
  non_negative("train.min_lr", c.train.min_lr);
  non_negative("train.clip_norm", c.train.clip_norm);
  positive("train.update_freq", c.train.update_freq);
  probability("train.label_smoothing", c.train.label_smoothing);
  positive("train.log_every", c.train.log_every);
  positive("train.valid_every", c.train.valid_every);
  positive("train.valid_beam", c.train.valid_beam);
  non_negative("train.valid_max_sentences", c.train.valid_max_sentences);
  non_negative("train.patience", c.train.patience);
  positive("train.keep_last", c.train.keep_last);
  positive("train.max_bad_steps", c.train.max_bad_steps);
  positive("search.beam_size", c.search.beam_size);
  non_negative("search.alpha", c.search.alpha);
  non_negative("search.max_len_a", c.search.max_len_a);
  non_negative("search.max_len_b", c.search.max_len_b);
  if (c.search.max_len_a == 0 && c.search.max_len_b == 0)
    throw std::invalid_argument("search.max_len_b: max output length a*len+b must be > 0");
  positive("search.nbest", c.search.nbest);
  if (c.search.nbest > c.search.beam_size)
    throw std::invalid_argument("search.nbest: must be <= search.beam_size");
  positive("search.batch_tokens", c.search.batch_tokens);
  positive("search.max_input_tokens", c.search.max_input_tokens);
}

}  // namespace seqzoo
