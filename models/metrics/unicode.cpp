#include "models/metrics/unicode.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace seqzoo {
namespace unicode {
namespace {

struct CodeRange {
  char32_t first, last;
};
struct LowerRun {
  char32_t first, last;
  int stride;
  int delta;
};

#include "models/metrics/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  // First range whose last >= c.
  const CodeRange* it = std::lower_bound(std::begin(table), std::end(table), c,
                                         [](const CodeRange& r, char32_t v) { return r.last < v; });
  return it != std::end(table) && it->first <= c;
}

bool is_cased(char32_t c) { return in_ranges(kCased, c); }
bool is_case_ignorable(char32_t c) { return in_ranges(kCaseIgnorable, c); }

char32_t lower_simple(char32_t c) {
  const LowerRun* it = std::lower_bound(std::begin(kLower), std::end(kLower), c,
                                        [](const LowerRun& r, char32_t v) { return r.last < v; });
  if (it == std::end(kLower) || c < it->first) return c;
  if ((c - it->first) % static_cast<char32_t>(it->stride) != 0) return c;
  return static_cast<char32_t>(static_cast<int64_t>(c) + it->delta);
}

}  // namespace

std::u32string decode_utf8(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    int len = 0;
    char32_t cp = 0, min = 0;
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok) {
      out.push_back(cp);
      i += len;
    } else {
      out.push_back(0xDC00 + b);  // surrogateescape: one invalid byte
      ++i;
    }
  }
  return out;
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c >= 0xDC80 && c <= 0xDCFF) {
      out.push_back(static_cast<char>(c - 0xDC00));
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool is_space(char32_t c) { return in_ranges(kSpace, c); }
bool is_number(char32_t c) { return in_ranges(kNumber, c); }
bool is_punct(char32_t c) { return in_ranges(kPunct, c); }
bool is_symbol(char32_t c) { return in_ranges(kSymbol, c); }

std::u32string lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else if (c == 0x130) {
      out.append(std::begin(kLowerDottedI), std::end(kLowerDottedI));
    } else if (c == 0x3A3) {
      // Final_Sigma (Unicode 3.13, as CPython's handle_capital_sigma): after a cased letter and
      // not before one, case-ignorable characters skipped on both sides.
      size_t j = i;
      while (j > 0 && is_case_ignorable(text[j - 1])) --j;
      bool final_sigma = j > 0 && is_cased(text[j - 1]);
      if (final_sigma) {
        size_t k = i + 1;
        while (k < n && is_case_ignorable(text[k])) ++k;
        final_sigma = k == n || !is_cased(text[k]);
      }
      out.push_back(final_sigma ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(lower_simple(c));
    }
  }
  return out;
}

std::u32string rstrip(const std::u32string& text) {
  size_t end = text.size();
  while (end > 0 && is_space(text[end - 1])) --end;
  return text.substr(0, end);
}

std::vector<std::u32string> split(const std::u32string& text) {
  std::vector<std::u32string> out;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    while (i < n && is_space(text[i])) ++i;
    if (i == n) break;
    size_t j = i;
    while (j < n && !is_space(text[j])) ++j;
    out.emplace_back(text, i, j - i);
    i = j;
  }
  return out;
}

}  // namespace unicode
}  // namespace seqzoo
