#include "tools/serve/api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "data/common/config_fields.h"
#include "data/corpus.h"

namespace seqzoo {
namespace {

using json = nlohmann::json;

const char* type_name(const json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void bad(const std::string& field, const std::string& what) { throw ApiError(400, field + ": " + what); }

// Keys of the search options the server owns (its batches and resources), not a request.
const std::set<std::string> kServerOwned = {"batch_tokens", "max_input_tokens"};

// Reads the search keys a request gives, with JSON type checks.
class JsonSearchReader : public FieldVisitor {
 public:
  explicit JsonSearchReader(const json& body) : body_(body) {}
  void field(const char* key, int64_t& value, const char*, Range) override {
    if (const json* j = find(key)) {
      if (!j->is_number_integer() && !j->is_number_unsigned()) bad(key, std::string("expected an integer, got ") + type_name(*j));
      if (j->is_number_unsigned() && j->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) bad(key, "integer too large");
      value = j->get<int64_t>();
    }
  }
  void field(const char* key, double& value, const char*, Range) override {
    if (const json* j = find(key)) {
      if (!j->is_number()) bad(key, std::string("expected a number, got ") + type_name(*j));
      value = j->get<double>();
    }
  }
  void field(const char* key, bool& value, const char*) override {
    if (const json* j = find(key)) {
      if (!j->is_boolean()) bad(key, std::string("expected true or false, got ") + type_name(*j));
      value = j->get<bool>();
    }
  }
  void field(const char* key, std::string& value, const char*, const std::vector<std::string>& choices) override {
    if (const json* j = find(key)) {
      if (!j->is_string()) bad(key, std::string("expected a string, got ") + type_name(*j));
      const auto s = j->get<std::string>();
      if (!choices.empty() && std::find(choices.begin(), choices.end(), s) == choices.end()) {
        std::string list;
        for (const auto& c : choices) list += (list.empty() ? "" : " | ") + c;
        bad(key, "must be one of " + list + ", got '" + s + "'");
      }
      value = s;
    }
  }
  void section(const char*, const char*, const VisitFn&) override {}

 private:
  const json* find(const char* key) {
    if (kServerOwned.count(key)) return nullptr;
    auto it = body_.find(key);
    if (it == body_.end()) return nullptr;
    return &*it;
  }
  const json& body_;
};

// A string or an array of strings -> lines, with the limits checked.
std::vector<std::string> string_list(const json& j, const std::string& field, const ApiLimits& limits, bool& single) {
  std::vector<std::string> out;
  single = j.is_string();
  if (single) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    if (static_cast<int64_t>(j.size()) > limits.max_lines)
      throw ApiError(413, field + ": " + std::to_string(j.size()) + " lines, the limit is " +
                              std::to_string(limits.max_lines) + " per request");
    for (size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string())
        bad(field + "[" + std::to_string(i) + "]", std::string("expected a string, got ") + type_name(j[i]));
      out.push_back(j[i].get<std::string>());
    }
  } else {
    bad(field, std::string("expected a string or an array of strings, got ") + type_name(j));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string name = single ? field : field + "[" + std::to_string(i) + "]";
    if (static_cast<int64_t>(out[i].size()) > limits.max_line_bytes)
      throw ApiError(413, name + ": " + std::to_string(out[i].size()) + " bytes, the limit is " +
                              std::to_string(limits.max_line_bytes) + " per line");
    // A line is one sentence: seqzoo-translate would read an embedded newline as two lines.
    if (out[i].find_first_of("\n\r") != std::string::npos) bad(name, "a line must not contain a line break");
  }
  return out;
}

// The model's search settings as the JSON object a request would give (server-owned keys left out).
struct JsonSearchWriter : FieldVisitor {
  json out = json::object();
  void field(const char* key, int64_t& value, const char*, Range) override { put(key, value); }
  void field(const char* key, double& value, const char*, Range) override { put(key, value); }
  void field(const char* key, bool& value, const char*) override { put(key, value); }
  void field(const char* key, std::string& value, const char*, const std::vector<std::string>&) override { put(key, value); }
  void section(const char*, const char*, const VisitFn&) override {}
  template <class T>
  void put(const char* key, const T& value) {
    if (!kServerOwned.count(key)) out[key] = value;
  }
};

json hyp_json(const TranslationHyp& h) {
  return json{{"text", h.text}, {"score", h.score}, {"log_prob", h.log_prob}};
}

}  // namespace

ParsedRequest parse_translate_request(const std::string& body, const std::vector<ServedModel>& models,
                                      const ApiLimits& limits) {
  const size_t invalid = find_invalid_utf8(body);
  if (invalid != std::string::npos)
    bad("body", "invalid UTF-8 at byte " + std::to_string(invalid + 1) + " (JSON text must be UTF-8)");
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    const size_t at = what.find("] ");
    bad("body", "invalid JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
  if (!j.is_object()) bad("body", std::string("expected a JSON object, got ") + type_name(j));

  ParsedRequest out;
  // Unknown keys are refused, as in a config: a typo must not silently decode with the defaults.
  std::vector<std::string> known = {"text", "model", "alignments", "prefix"};
  {
    SearchOptions probe;
    for (const auto& k : config_field_paths([&](FieldVisitor& v) { probe.visit(v); }))
      if (!kServerOwned.count(k)) known.push_back(k);
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (kServerOwned.count(it.key()))
      bad(it.key(), "set by the server (seqzoo-serve --" + std::string(it.key() == "batch_tokens" ? "batch-tokens" : "max-input-tokens") +
                        "), not per request");
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      bad(it.key(), "unknown field" + did_you_mean(it.key(), known));
  }

  // The model.
  if (models.empty()) throw ApiError(503, "no model is loaded");
  out.model = &models.front();
  if (auto m = j.find("model"); m != j.end()) {
    if (!m->is_string()) bad("model", std::string("expected a string, got ") + type_name(*m));
    const auto name = m->get<std::string>();
    auto found = std::find_if(models.begin(), models.end(), [&](const ServedModel& s) { return s.name == name; });
    if (found == models.end()) {
      std::string list;
      for (const auto& s : models) list += (list.empty() ? "" : ", ") + s.name;
      throw ApiError(404, "model: unknown model '" + name + "' (served: " + list + ")");
    }
    out.model = &*found;
  }

  // The text.
  auto text = j.find("text");
  if (text == j.end()) bad("text", "missing (a string or an array of strings)");
  bool single = false;
  out.request.lines = string_list(*text, "text", limits, single);

  // The options: the model's search settings, the request's on top.
  TranslateOptions& options = out.request.options;
  options.search = out.model->service->model().config.search;
  options.search.batch_tokens = out.model->service->options().batch_tokens;
  JsonSearchReader reader(j);
  options.search.visit(reader);
  if (auto a = j.find("alignments"); a != j.end()) {
    if (!a->is_boolean()) bad("alignments", std::string("expected true or false, got ") + type_name(*a));
    out.alignments = a->get<bool>();
  }
  options.search.keep_attention = out.alignments;
  if (auto p = j.find("prefix"); p != j.end()) {
    bool prefix_single = false;
    auto prefixes = string_list(*p, "prefix", limits, prefix_single);
    if (prefix_single != single || prefixes.size() != out.request.lines.size())
      bad("prefix", "must have the shape of text (" +
                        (single ? std::string("a string") : std::to_string(out.request.lines.size()) + " strings") + ")");
    for (size_t i = 0; i < prefixes.size(); ++i) {
      if (prefixes[i].find('\t') != std::string::npos) bad("prefix", "must not contain a TAB");
      // seqzoo-translate --prefix reads SOURCE<TAB>PREFIX lines: the same lines here.
      if (out.request.lines[i].find('\t') != std::string::npos)
        bad(single ? "text" : "text[" + std::to_string(i) + "]", "must not contain a TAB when a prefix is given");
      out.request.lines[i] += "\t" + prefixes[i];
    }
    options.prefix = true;
  }
  try {
    options.search.validate();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();  // "search.beam_size: must be >= 1, got 0"
    if (msg.rfind("search.", 0) == 0) msg = msg.substr(7);
    for (size_t at = msg.find("search."); at != std::string::npos; at = msg.find("search.")) msg.erase(at, 7);
    throw ApiError(400, msg);
  }
  return out;
}

std::string render_translate_response(const ParsedRequest& request, const ServiceResult& result) {
  json list = json::array();
  const bool nbest = request.request.options.search.nbest > 1;
  for (const auto& t : result.translations) {
    const TranslationHyp best = t.nbest.empty() ? TranslationHyp{} : t.nbest.front();
    json item = hyp_json(best);
    if (request.alignments) item["alignment"] = format_alignment(t.alignment);
    if (nbest) {
      json all = json::array();
      for (const auto& h : t.nbest) all.push_back(hyp_json(h));
      item["nbest"] = std::move(all);
    }
    list.push_back(std::move(item));
  }
  return json{{"model", request.model->name}, {"translations", std::move(list)}}.dump() + "\n";
}

std::string render_models(const std::vector<ServedModel>& models) {
  json list = json::array();
  for (const auto& m : models) {
    const LoadedModel& run = m.service->model();
    SearchOptions search = run.config.search;
    JsonSearchWriter defaults;
    search.visit(defaults);
    list.push_back(json{{"name", m.name},
                        {"family", run.config.model.family},
                        {"src_lang", run.config.data.src_lang},
                        {"tgt_lang", run.config.data.tgt_lang},
                        {"src_vocab", run.tok.src->vocab_size()},
                        {"tgt_vocab", run.tok.tgt->vocab_size()},
                        {"parameters", m.parameters},
                        {"replicas", m.service->options().replicas},
                        {"run_dir", run.config.run_dir},
                        {"search", std::move(defaults.out)}});
  }
  return json{{"models", std::move(list)}}.dump() + "\n";
}

std::string render_error(const std::string& message) { return json{{"error", message}}.dump() + "\n"; }

}  // namespace seqzoo
