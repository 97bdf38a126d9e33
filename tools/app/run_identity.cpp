#include "tools/app/run_identity.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "data/common/files.h"

namespace seqzoo {
namespace {

// The model section as the family reads it: the shared keys and the family's own sections.
std::string model_yaml(const RunSettings& settings) {
  ModelConfig copy = settings.model;
  const std::string all =
      dump_config_fields([&](FieldVisitor& v) { v.section("model", "", [&](FieldVisitor& s) { copy.visit(s); }); },
                         /*comments=*/false);
  std::vector<std::string> sections;
  try {
    sections = family_sections(settings.model.family);
  } catch (const std::invalid_argument&) {
    return all;
  }
  const std::vector<std::string> every = settings.model.section_keys();
  std::string out, skip;
  std::istringstream in(all);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  ", 0) == 0 && line.rfind("    ", 0) != 0) {  // a key directly under model:
      const std::string key = line.substr(2, line.find(':') - 2);
      const bool is_section = std::find(every.begin(), every.end(), key) != every.end();
      skip = is_section && std::find(sections.begin(), sections.end(), key) == sections.end() ? key : "";
    }
    if (skip.empty()) out += line + "\n";
  }
  return out;
}

// FNV-1a (64 bit) over the bytes of the tokenizer model files, with their sizes.
std::string tokenizer_fingerprint(const RunDirectory& run) {
  const TokenizerPaths paths = run.tokenizers();
  std::vector<std::string> files;
  if (run.has_tokenizers()) {
    std::error_code ec;
    if (std::filesystem::exists(paths.joint + ".model", ec))
      files = {paths.joint + ".model"};
    else
      files = {paths.src + ".model", paths.tgt + ".model"};
  }
  uint64_t h = 1469598103934665603ULL;
  std::ostringstream out;
  for (const auto& f : files) {
    const std::string bytes = read_text_file(f);
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
    out << bytes.size() << ":";
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return out.str() + hex;
}

// "model.transformer.heads: 4" for each leaf line of a model dump.
std::vector<std::pair<std::string, std::string>> leaves(const std::string& yaml) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> stack;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);) {
    const size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    const size_t colon = line.find(':', indent);
    if (colon == std::string::npos) continue;
    stack.resize(indent / 2);
    const std::string key = line.substr(indent, colon - indent);
    const std::string value = colon + 1 < line.size() ? line.substr(colon + 2) : "";
    if (value.empty()) {
      stack.push_back(key);
      continue;
    }
    std::string path;
    for (const auto& s : stack) path += s + ".";
    out.emplace_back(path + key, value);
  }
  return out;
}

}  // namespace

CheckpointMeta run_identity(const RunSettings& settings, const RunDirectory& run) {
  return {{"model", model_yaml(settings)}, {"tokenizer", tokenizer_fingerprint(run)}};
}

void check_run_identity(const CheckpointInfo& info, const RunSettings& settings, const RunDirectory& run) {
  const auto model = info.meta.find("model");
  if (model != info.meta.end()) {
    const auto stored = leaves(model->second), mine = leaves(model_yaml(settings));
    for (const auto& [key, value] : stored) {
      std::string now = "(absent)";
      for (const auto& [k, v] : mine)
        if (k == key) now = v;
      if (now != value)
        throw std::runtime_error("checkpoint " + info.path + " was trained with " + key + ": " + value + ", but " +
                                 run.config() + " says " + key + ": " + now + "; restore that value in " +
                                 run.config() + " (the checkpoint's own model config is recorded in it)");
    }
  }
  const auto tok = info.meta.find("tokenizer");
  if (tok != info.meta.end() && tok->second != tokenizer_fingerprint(run))
    throw std::runtime_error("checkpoint " + info.path + " was trained with another tokenizer than the one in " +
                             run.root() + " (spm*.model changed); restore the run's tokenizer files");
}

}  // namespace seqzoo
