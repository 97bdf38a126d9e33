#include "data/common/config_fields.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>
#include <type_traits>


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

// "; did you mean X?" for the closest known key when it is close enough, else the known keys.
std::string suggestion(const std::string& key, const std::vector<std::string>& known) {
  const std::string close = did_you_mean(key, known);
  if (!close.empty()) return close;
  std::string all;
  for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
  return "; known keys: " + all;
}

std::string where(const std::string& origin, const YAML::Node& node) {
  if (node.Mark().line >= 0) return origin + ":" + std::to_string(node.Mark().line + 1) + ": ";
  return origin + ": ";
}

std::string format_value(double x, bool integer) {
  return integer ? std::to_string(static_cast<long long>(x)) : format_config_double(x);
}

// Collects the names of one level (for suggestions) and every leaf path below.
class KeyLister : public FieldVisitor {
 public:
  explicit KeyLister(std::string prefix = "") : prefix_(std::move(prefix)) {}
  std::vector<std::string> names, paths;

  void field(const char* k, int64_t&, const char*, Range) override { leaf(k); }
  void field(const char* k, double&, const char*, Range) override { leaf(k); }
  void field(const char* k, bool&, const char*) override { leaf(k); }
  void field(const char* k, std::string&, const char*, const std::vector<std::string>&) override { leaf(k); }
  void section(const char* k, const char*, const VisitFn& body) override {
    names.push_back(k);
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
  ParseVisitor(const YAML::Node& node, std::string prefix, const std::string& origin, std::vector<std::string>* seen)
      : node_(node), prefix_(std::move(prefix)), origin_(origin), seen_(seen) {}

  void field(const char* k, int64_t& v, const char*, Range range) override { number(k, v, range, "an integer"); }
  void field(const char* k, double& v, const char*, Range range) override { number(k, v, range, "a number"); }
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
      throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) + ": '" + s + "' is not one of " + all +
                                  did_you_mean(s, choices));
    }
    v = s;
  }
  void section(const char* k, const char*, const VisitFn& body) override {
    YAML::Node n = take(k);
    if (!n || n.IsNull()) return;
    if (!n.IsMap())
      throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) + ": expected a mapping of keys (a section)");
    ParseVisitor sub(n, join_path(prefix_, k), origin_, seen_);
    body(sub);
    sub.check_unknown(body);
  }

  // Rejects keys of this level that no field consumed, and keys given twice.
  void check_unknown(const VisitFn& body) {
    KeyLister lister;
    body(lister);
    std::map<std::string, int> first_line;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      const int line = it->first.Mark().line + 1;
      auto [pos, fresh] = first_line.emplace(key, line);
      if (!fresh)
        throw std::invalid_argument(where(origin_, it->first) + join_path(prefix_, key) + ": duplicate key (also on line " +
                                    std::to_string(pos->second) + "); give each key once");
      if (std::find(consumed_.begin(), consumed_.end(), key) == consumed_.end())
        throw std::invalid_argument(where(origin_, it->first) + join_path(prefix_, key) + ": unknown key" +
                                    suggestion(key, lister.names));
    }
  }

 private:
  YAML::Node take(const char* k) {
    if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node n = node_[k];
    if (!n.IsDefined()) return n;
    consumed_.push_back(k);
    if (seen_) seen_->push_back(join_path(prefix_, k));
    return n;
  }
  template <class T>
  void number(const char* k, T& v, const Range& range, const char* expected) {
    YAML::Node n = take(k);
    if (!n) return;
    const std::string s = scalar(n, k, expected);
    constexpr bool integer = std::is_integral<T>::value;
    errno = 0;
    char* end = nullptr;
    const double x = integer ? static_cast<double>(std::strtoll(s.c_str(), &end, 10)) : std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x)) type_error(n, k, expected, s);
    in_range(n, k, x, range, integer);
    v = integer ? static_cast<T>(std::strtoll(s.c_str(), nullptr, 10)) : static_cast<T>(x);
  }
  std::string scalar(const YAML::Node& n, const char* k, const char* expected) {
    if (!n.IsScalar()) type_error(n, k, expected, n.IsMap() ? "a mapping" : n.IsSequence() ? "a list" : "null");
    return n.Scalar();
  }
  void in_range(const YAML::Node& n, const char* k, double x, const Range& range, bool integer) {
    if (!range.contains(x))
      throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) + ": must be " + range.describe() +
                                  ", got " + format_value(x, integer));
  }
  [[noreturn]] void type_error(const YAML::Node& n, const char* k, const char* expected, const std::string& got) {
    throw std::invalid_argument(where(origin_, n) + join_path(prefix_, k) + ": expected " + expected + ", got '" + got +
                                "'");
  }

  YAML::Node node_;
  std::string prefix_;
  const std::string& origin_;
  std::vector<std::string>* seen_;
  std::vector<std::string> consumed_;
};

class RangeChecker : public FieldVisitor {
 public:
  explicit RangeChecker(std::string prefix = "") : prefix_(std::move(prefix)) {}
  void field(const char* k, int64_t& v, const char*, Range r) override { check(k, static_cast<double>(v), r, true); }
  void field(const char* k, double& v, const char*, Range r) override { check(k, v, r, false); }
  void field(const char*, bool&, const char*) override {}
  void field(const char* k, std::string& v, const char*, const std::vector<std::string>& choices) override {
    if (!choices.empty() && std::find(choices.begin(), choices.end(), v) == choices.end()) {
      std::string all;
      for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
      throw std::invalid_argument(join_path(prefix_, k) + ": '" + v + "' is not one of " + all);
    }
  }
  void section(const char* k, const char*, const VisitFn& body) override {
    RangeChecker sub(join_path(prefix_, k));
    body(sub);
  }

 private:
  void check(const char* k, double x, const Range& r, bool integer) {
    if (!r.contains(x))
      throw std::invalid_argument(join_path(prefix_, k) + ": must be " + r.describe() + ", got " + format_value(x, integer));
  }
  std::string prefix_;
};

std::string quote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/')) plain = false;
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
  DumpVisitor(std::ostringstream& os, int indent, bool comments) : os_(os), indent_(indent), comments_(comments) {}
  void field(const char* k, int64_t& v, const char* doc, Range r) override { line(k, std::to_string(v), with_range(doc, r)); }
  void field(const char* k, double& v, const char* doc, Range r) override { line(k, format_config_double(v), with_range(doc, r)); }
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
  void section(const char* k, const char* doc, const VisitFn& body) override {
    os_ << std::string(indent_, ' ') << k << ":";
    if (comments_) os_ << "  # " << doc;
    os_ << "\n";
    DumpVisitor sub(os_, indent_ + 2, comments_);
    body(sub);
  }

 private:
  static std::string with_range(const char* doc, const Range& r) {
    const std::string d = r.describe();
    return d.empty() ? std::string(doc) : std::string(doc) + " (" + d + ")";
  }
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

YAML::Node load_yaml(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(origin + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  if (root.IsNull() || !root.IsDefined()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw std::invalid_argument(origin + ": expected a YAML mapping at the top level");
  return root;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  return parts;
}

// Moves root[from...] to root[to...] (sections created as needed) unless `to` is already set.
void move_key(YAML::Node& root, const std::string& from, const std::string& to) {
  const auto src = split_path(from), dst = split_path(to);
  if (to.empty()) {  // dropped
    if (src.size() == 1 && root.IsMap() && root[src[0]].IsDefined()) {
      root.remove(src[0]);
      return;
    }
  }
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < src.size(); ++i) {
    if (!chain.back().IsMap() || !chain.back()[src[i]].IsDefined()) return;
    chain.push_back(chain.back()[src[i]]);
  }
  if (!chain.back().IsMap() || !chain.back()[src.back()].IsDefined()) return;
  YAML::Node value = YAML::Clone(chain.back()[src.back()]);
  chain.back().remove(src.back());
  for (size_t i = chain.size() - 1; i > 0 && chain[i].size() == 0; --i) chain[i - 1].remove(src[i - 1]);
  if (to.empty()) return;
  std::vector<YAML::Node> target{root};
  for (size_t i = 0; i + 1 < dst.size(); ++i) {
    if (!target.back()[dst[i]].IsMap()) target.back()[dst[i]] = YAML::Node(YAML::NodeType::Map);
    target.push_back(target.back()[dst[i]]);
  }
  if (!target.back()[dst.back()].IsDefined()) target.back()[dst.back()] = value;
}

std::vector<std::string> parse_node(const YAML::Node& root, const std::string& origin, const VisitFn& visit) {
  std::vector<std::string> seen;
  ParseVisitor parser(root, "", origin, &seen);
  visit(parser);
  parser.check_unknown(visit);
  return seen;
}

}  // namespace

bool Range::contains(double x) const {
  if (lo_open ? !(x > lo) : !(x >= lo)) return false;
  if (hi_open ? !(x < hi) : !(x <= hi)) return false;
  return true;
}

std::string Range::describe() const {
  auto num = [](double x) {  // integers without ".0" in messages
    return x == std::floor(x) && std::fabs(x) < 1e15 ? std::to_string(static_cast<long long>(x)) : format_config_double(x);
  };
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return std::string("in ") + (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
  if (has_lo) return std::string(lo_open ? "> " : ">= ") + num(lo);
  if (has_hi) return std::string(hi_open ? "< " : "<= ") + num(hi);
  return "";
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& k : known) {
    size_t d = edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  if (!best.empty() && best_d <= std::max<size_t>(2, key.size() / 3)) return "; did you mean " + best + "?";
  return "";
}

std::string format_config_double(double x) {
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

std::vector<std::string> parse_config_text(const std::string& yaml_text, const std::string& origin,
                                           const VisitFn& visit, const std::vector<RenamedKey>& renamed) {
  YAML::Node root = load_yaml(yaml_text, origin);
  for (const auto& r : renamed) move_key(root, r.from, r.to);
  return parse_node(root, origin, visit);
}

std::string apply_config_override(const std::string& spec, const VisitFn& visit) {
  const std::string origin = "--set " + spec;
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument(origin + ": expected key=value (e.g. train.max_steps=100)");
  const std::string path = spec.substr(0, eq), value = spec.substr(eq + 1);
  const auto paths = config_field_paths(visit);
  if (std::find(paths.begin(), paths.end(), path) == paths.end())
    throw std::invalid_argument(origin + ": " + path + ": unknown key" + suggestion(path, paths));
  const std::vector<std::string> parts = split_path(path);
  // A chain of nodes (assigning one yaml-cpp node to another would alias their contents).
  std::vector<YAML::Node> chain{YAML::Node(YAML::NodeType::Map)};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    chain.emplace_back(YAML::NodeType::Map);
    chain[chain.size() - 2][parts[i]] = chain.back();
  }
  chain.back()[parts.back()] = value;
  parse_node(chain.front(), origin, visit);
  return path;
}

void check_config_ranges(const VisitFn& visit) {
  RangeChecker checker;
  visit(checker);
}

std::string dump_config_fields(const VisitFn& visit, bool comments) {
  std::ostringstream os;
  DumpVisitor dumper(os, 0, comments);
  visit(dumper);
  return os.str();
}

std::vector<std::string> config_field_paths(const VisitFn& visit) {
  KeyLister lister;
  visit(lister);
  return lister.paths;
}

}  // namespace seqzoo
