#pragma once
// Shared fixtures of the [data] tests: a temp dir that removes itself, a generated corpus, and a
// small SentencePiece model trained once per test run.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace seqzoo::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("seqzoo_data_test_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Sentences drawn from small German-like and English-like word lists (with accents and
// punctuation), deterministic for a seed.
inline std::vector<std::string> generated_sentences(int n, bool german, uint64_t seed) {
  static const std::vector<std::string> de = {"Ein", "Mädchen", "läuft", "über", "die", "Straße",
                                              "Der", "Hund", "spielt", "im", "Café", "größer",
                                              "schön", "Fußball", "und", "Männer", "essen", "Äpfel"};
  static const std::vector<std::string> en = {"A", "girl", "runs", "across", "the", "street",
                                              "The", "dog", "plays", "in", "café", "bigger",
                                              "naïve", "football", "and", "men", "eat", "apples"};
  static const std::vector<std::string> punct = {",", ".", "!", "?", "\"", "'", "(", ")", "-"};
  const auto& words = german ? de : en;
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const int len = 3 + static_cast<int>(rng() % 12);
    std::string s;
    for (int w = 0; w < len; ++w) {
      if (w) s += ' ';
      s += words[rng() % words.size()];
      if (rng() % 5 == 0) s += punct[rng() % punct.size()];
    }
    out.push_back(s);
  }
  return out;
}

// Tokenizer files in a folder as a run directory lays them out (spm.model or spm.src/tgt.model).
inline TokenizerPaths tokenizer_paths(const std::string& dir) {
  return {dir + "/spm", dir + "/spm.src", dir + "/spm.tgt"};
}

// A joint unigram model (vocab ~150) trained once on generated de/en text.
struct SharedTokenizer {
  TempDir dir;
  std::string src_file, tgt_file;
  Tokenizers tok;
  SharedTokenizer() {
    src_file = dir.file("train.de");
    tgt_file = dir.file("train.en");
    write_file(src_file, join_lines(generated_sentences(300, true, 11)));
    write_file(tgt_file, join_lines(generated_sentences(300, false, 12)));
    TokenizerConfig cfg;
    cfg.vocab_size = 150;
    tok = train_tokenizers(tokenizer_paths(dir.file("run")), src_file, tgt_file, cfg);
  }
};

inline const SharedTokenizer& shared_tokenizer() {
  static SharedTokenizer shared;
  return shared;
}

}  // namespace seqzoo::testing
