// Reading, validating and tokenizing parallel text.
#include "data/corpus.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace seqzoo {
namespace {

// Longest accepted line (bytes): longer ones are almost certainly not sentences (a binary or
// unsplit file) and would blow up tokenization and batching.
constexpr size_t kMaxLineBytes = size_t{1} << 20;
// Corpora at least this large are tokenized on two threads.
constexpr size_t kParallelMinPairs = 2000;
constexpr int kTokenizeThreads = 2;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads all lines of a file, stripping a trailing '\r' (CRLF files) and a leading UTF-8 BOM, and
// checks each for length and UTF-8 validity.
std::vector<std::string> read_checked_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::string> lines;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\r') != std::string::npos)
      throw std::invalid_argument(path + ":" + std::to_string(line_no) +
                                  ": a carriage return inside a line (CR-only line endings?); convert the file to "
                                  "LF line endings (e.g. tr '\\r' '\\n')");
    if (line_no == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (line.size() > kMaxLineBytes) {
      throw std::invalid_argument(path + ":" + std::to_string(line_no) + ": line too long (" +
                                  std::to_string(line.size()) + " bytes, at most " +
                                  std::to_string(kMaxLineBytes) + ")");
    }
    const size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos) {
      throw std::invalid_argument(path + ":" + std::to_string(line_no) +
                                  ": invalid UTF-8 at byte " + std::to_string(bad + 1));
    }
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw std::runtime_error("error reading " + path);
  return lines;
}

// Resolves a corpus file name against the data folder: <dir>/<name>, unless that does not exist
// and <name> does (relative to the working directory). Absolute names are kept.
std::string resolve_in_dir(const std::string& dir, const std::string& name) {
  const fs::path p(name);
  if (p.is_absolute()) return name;
  const fs::path in_dir = fs::path(dir) / p;
  std::error_code ec;
  if (!fs::exists(in_dir, ec) && fs::exists(p, ec)) return name;
  return in_dir.string();
}

bool outside_length_limits(size_t ls, size_t lt, bool has_tgt, const DataConfig& data) {
  const auto too_short = [&](size_t n) { return static_cast<int64_t>(n) < data.min_len; };
  const auto too_long = [&](size_t n) {
    return data.max_len > 0 && static_cast<int64_t>(n) > data.max_len;
  };
  if (too_short(ls) || too_long(ls)) return true;
  if (!has_tgt) return false;
  if (too_short(lt) || too_long(lt)) return true;
  if (data.max_len_ratio > 0.0) {
    const double a = static_cast<double>(std::max(ls, lt));
    const double b = static_cast<double>(std::max<size_t>(std::min(ls, lt), 1));
    if (a / b > data.max_len_ratio) return true;
  }
  return false;
}

}  // namespace

size_t find_invalid_utf8(const std::string& s) {
  // RFC 3629: no overlong forms, no surrogates (U+D800..DFFF), nothing above U+10FFFF.
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;        // overlong
      else if (c == 0xED) hi = 0x9F;   // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;        // overlong
      else if (c == 0xF4) hi = 0x8F;   // above U+10FFFF
    } else {
      return i;  // continuation byte, C0/C1 or F5..FF as a lead byte
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string::npos;
}

std::vector<std::string> read_lines(const std::string& path) { return read_checked_lines(path); }

RawCorpus read_parallel(const std::string& src_path, const std::string& tgt_path) {
  RawCorpus c;
  c.src_path = src_path;
  c.tgt_path = tgt_path;
  c.src = read_checked_lines(src_path);
  if (tgt_path.empty()) return c;  // source only
  c.tgt = read_checked_lines(tgt_path);
  if (c.src.size() != c.tgt.size()) {
    throw std::invalid_argument("misaligned parallel corpus: " + src_path + " has " +
                                std::to_string(c.src.size()) + " lines but " + tgt_path + " has " +
                                std::to_string(c.tgt.size()));
  }
  return c;
}

RawCorpus read_tsv(const std::string& tsv_path) {
  RawCorpus c;
  c.src_path = c.tgt_path = tsv_path;
  std::vector<std::string> lines = read_checked_lines(tsv_path);
  c.src.reserve(lines.size());
  c.tgt.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t tab = line.find('\t');
    const size_t tabs = static_cast<size_t>(std::count(line.begin(), line.end(), '\t'));
    if (tabs != 1) {
      throw std::invalid_argument(tsv_path + ":" + std::to_string(i + 1) +
                                  ": expected exactly one TAB (source<TAB>target), found " +
                                  std::to_string(tabs));
    }
    c.src.push_back(line.substr(0, tab));
    c.tgt.push_back(line.substr(tab + 1));
  }
  return c;
}

RawCorpus read_split(const DataConfig& data, const std::string& prefix_or_tsv) {
  if (prefix_or_tsv.empty()) throw std::invalid_argument("read_split: empty file prefix");
  const std::string dir = resolve_data_dir(data);
  if (ends_with(prefix_or_tsv, ".tsv")) return read_tsv(resolve_in_dir(dir, prefix_or_tsv));
  if (data.src_lang.empty() || data.tgt_lang.empty()) {
    throw std::invalid_argument("data.src_lang and data.tgt_lang must be set to read " + prefix_or_tsv);
  }
  return read_parallel(resolve_in_dir(dir, prefix_or_tsv + "." + data.src_lang),
                       resolve_in_dir(dir, prefix_or_tsv + "." + data.tgt_lang));
}

TokenizedCorpus tokenize_corpus(const RawCorpus& raw, const Tokenizers& tok, const DataConfig& data,
                                bool filter) {
  if (!tok.src || (!raw.tgt.empty() && !tok.tgt)) {
    throw std::invalid_argument("tokenize_corpus: tokenizer not loaded");
  }
  if (!raw.tgt.empty() && raw.tgt.size() != raw.src.size()) {
    throw std::invalid_argument("tokenize_corpus: " + std::to_string(raw.src.size()) +
                                " source but " + std::to_string(raw.tgt.size()) + " target lines");
  }
  const size_t n = raw.size();
  const bool has_tgt = !raw.tgt.empty();
  std::vector<std::vector<int64_t>> src(n), tgt(has_tgt ? n : 0);

  // Encode (SentencePiece's Encode is const and thread-safe), in contiguous chunks.
  const auto encode_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      src[i] = tok.src->encode(raw.src[i]);
      if (has_tgt) tgt[i] = tok.tgt->encode(raw.tgt[i]);
    }
  };
  if (n >= kParallelMinPairs) {
    std::vector<std::thread> workers;
    std::vector<std::exception_ptr> errors(kTokenizeThreads);
    for (int w = 0; w < kTokenizeThreads; ++w) {
      const size_t begin = n * w / kTokenizeThreads, end = n * (w + 1) / kTokenizeThreads;
      workers.emplace_back([&, w, begin, end] {
        try {
          encode_range(begin, end);
        } catch (...) {
          errors[w] = std::current_exception();
        }
      });
    }
    for (auto& t : workers) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  } else {
    encode_range(0, n);
  }

  TokenizedCorpus out;
  out.src.reserve(n);
  if (has_tgt) out.tgt.reserve(n);
  out.index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (filter) {
      if (src[i].empty() || (has_tgt && tgt[i].empty())) {
        ++out.skipped_empty;
        continue;
      }
      if (outside_length_limits(src[i].size(), has_tgt ? tgt[i].size() : 0, has_tgt, data)) {
        ++out.skipped_length;
        continue;
      }
    }
    out.src.push_back(std::move(src[i]));
    if (has_tgt) out.tgt.push_back(std::move(tgt[i]));
    out.index.push_back(static_cast<int64_t>(i));
  }
  return out;
}

}  // namespace seqzoo
