#pragma once
// Reading and validating parallel text: two line-aligned files, or one TSV (src<TAB>tgt).
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "data/data_config.h"

namespace seqzoo {

// Raw parallel text, validated: line-aligned, valid UTF-8 (std::invalid_argument naming the file
// and 1-based line otherwise; misaligned files name both files and both counts).
struct RawCorpus {
  std::vector<std::string> src;
  std::vector<std::string> tgt;       // may be empty for source-only input
  std::string src_path, tgt_path;
  size_t size() const { return src.size(); }
};

// Reads <prefix>.<src_lang> and <prefix>.<tgt_lang> (or a .tsv path).
RawCorpus read_parallel(const std::string& src_path, const std::string& tgt_path);
RawCorpus read_tsv(const std::string& tsv_path);
// Reads one side (e.g. the source to translate); validates UTF-8.
std::vector<std::string> read_lines(const std::string& path);
// The files of a corpus split by DataConfig ("train", "valid", "test" prefixes or .tsv).
RawCorpus read_split(const DataConfig& data, const std::string& prefix_or_tsv);

// Returns the 0-based index of the first byte that is not valid UTF-8, or npos.
size_t find_invalid_utf8(const std::string& s);

// A tokenized corpus: ids per sentence (no bos/eos), and the corpus positions they came from.
struct TokenizedCorpus {
  std::vector<std::vector<int64_t>> src;
  std::vector<std::vector<int64_t>> tgt;
  std::vector<int64_t> index;          // position in the raw corpus
  int64_t skipped_empty = 0;           // pairs with an empty side (training only)
  int64_t skipped_length = 0;          // pairs outside min_len/max_len/max_len_ratio
  size_t size() const { return src.size(); }
};

// Tokenizes; with `filter` (training) drops empty pairs and applies the length filters of `data`,
// counting what it dropped. Without it keeps every pair (validation, test).
TokenizedCorpus tokenize_corpus(const RawCorpus& raw, const Tokenizers& tok, const DataConfig& data,
                                bool filter);

}  // namespace seqzoo
