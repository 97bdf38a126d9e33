#pragma once
// Typed configuration structs, written once: each component owns a struct whose visit() names
// every field with its key, one-line doc, choices or range (fairseq's dataclasses, CTranslate2's
// option structs). Parsing YAML (several files in turn, then --set overrides), rejecting unknown
// keys with their full path, range checks, dumping (with or without comments), listing keys and
// generating command-line flags are all visitors over that one declaration.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace seqzoo {

// The allowed interval of a numeric field; the default allows any value.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  static Range any() { return {}; }
  static Range positive() { return {0, std::numeric_limits<double>::infinity(), true, false}; }      // > 0
  static Range non_negative() { return {0, std::numeric_limits<double>::infinity(), false, false}; } // >= 0
  static Range at_least(double x) { return {x, std::numeric_limits<double>::infinity(), false, false}; }
  static Range probability() { return {0, 1, false, true}; }                                          // [0, 1)
  static Range fraction() { return {0, 1, true, false}; }                                             // (0, 1]
  bool contains(double x) const;
  // "> 0", ">= 1", "in [0, 1)", "" for any.
  std::string describe() const;
};

// Walks the fields of a config struct.
class FieldVisitor {
 public:
  virtual ~FieldVisitor() = default;
  virtual void field(const char* key, int64_t& value, const char* doc, Range range = {}) = 0;
  virtual void field(const char* key, double& value, const char* doc, Range range = {}) = 0;
  virtual void field(const char* key, bool& value, const char* doc) = 0;
  // choices: the allowed values (empty = any string).
  virtual void field(const char* key, std::string& value, const char* doc,
                     const std::vector<std::string>& choices = {}) = 0;
  virtual void section(const char* key, const char* doc, const std::function<void(FieldVisitor&)>& body) = 0;
};

using VisitFn = std::function<void(FieldVisitor&)>;

// Parses a YAML mapping onto the fields `visit` declares: keys present are set, the others keep
// their values (so files compose: later ones override earlier ones key by key). Malformed YAML,
// duplicate keys, unknown keys (with a did-you-mean), wrong types, bad choices and out-of-range
// values throw std::invalid_argument "<origin>:<line>: <full.key>: ...". Returns the full paths
// of the keys set.
// `renamed` maps keys that moved (old full path -> new full path): a file written before the move
// still loads, its value taking the new key. An empty new path drops the key (and its section).
struct RenamedKey {
  std::string from, to;
};
std::vector<std::string> parse_config_text(const std::string& yaml_text, const std::string& origin,
                                           const VisitFn& visit, const std::vector<RenamedKey>& renamed = {});


// Applies one "--set full.key=value" (origin "--set full.key=value" in errors); returns the path.
std::string apply_config_override(const std::string& spec, const VisitFn& visit);

// Every field inside its range (std::invalid_argument "<full.key>: must be > 0, got 0").
void check_config_ranges(const VisitFn& visit);

// YAML of the current values; with comments each key carries its doc, choices and range.
std::string dump_config_fields(const VisitFn& visit, bool comments);

// The full paths of every field, in declaration order.
std::vector<std::string> config_field_paths(const VisitFn& visit);

// "; did you mean X?" when one of `known` is close to `key`, else "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& known);

// A double as the shortest text that reads back exactly ("0.1", "1e-09", "4.0").
std::string format_config_double(double x);

}  // namespace seqzoo
