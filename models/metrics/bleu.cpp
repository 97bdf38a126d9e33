// BLEU (Papineni et al. 2002) as sacreBLEU 2.x computes it (Post 2018): the same tokenizers
// (mteval-v13a, mteval-v14 "intl", char, none), reference handling (max n-gram counts over the
// references, closest reference length with ties to the shorter), smoothing (Chen & Cherry 2014:
// none, floor, add-k, exp = NIST's 1/2^k) and effective order, so scores match to float precision.
#include "models/metrics/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>

#include "models/metrics/metrics_util.h"
#include "models/metrics/unicode.h"

#ifndef SEQZOO_VERSION
#define SEQZOO_VERSION "unknown"
#endif

namespace seqzoo {
namespace {

using unicode::is_number;
using unicode::is_punct;
using unicode::is_symbol;

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

void replace_all(std::u32string& s, const std::u32string& from, const std::u32string& to) {
  std::u32string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::u32string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::u32string::npos);
  s.swap(out);
}

// Python re.sub semantics for a two-character pattern (first, second) scanned left to right,
// non-overlapping: each match is replaced by `emit`.
template <typename P1, typename P2, typename Emit>
std::u32string sub_pairs(const std::u32string& s, P1 first, P2 second, Emit emit) {
  std::u32string out;
  out.reserve(s.size() + 16);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// mteval-v13a (sacreBLEU's Tokenizer13a + TokenizerRegexp).
std::u32string tokenize_13a(std::u32string line) {
  replace_all(line, U"<skipped>", U"");
  replace_all(line, U"-\n", U"");
  replace_all(line, U"\n", U" ");
  replace_all(line, U"&quot;", U"\"");
  replace_all(line, U"&amp;", U"&");
  replace_all(line, U"&lt;", U"<");
  replace_all(line, U"&gt;", U">");
  line = U" " + line + U" ";
  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
  std::u32string spaced;
  spaced.reserve(line.size() * 2);
  for (char32_t c : line) {
    const bool p = (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
                   (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
    if (p) {
      spaced.push_back(' ');
      spaced.push_back(c);
      spaced.push_back(' ');
    } else {
      spaced.push_back(c);
    }
  }
  auto not_digit = [](char32_t c) { return !is_digit(c); };
  auto dot_comma = [](char32_t c) { return c == '.' || c == ','; };
  // ([^0-9])([\.,]) -> '\1 \2 '
  spaced = sub_pairs(spaced, not_digit, dot_comma, [](std::u32string& o, char32_t a, char32_t b) {
    o.push_back(a), o.push_back(' '), o.push_back(b), o.push_back(' ');
  });
  // ([\.,])([^0-9]) -> ' \1 \2'
  spaced = sub_pairs(spaced, dot_comma, not_digit, [](std::u32string& o, char32_t a, char32_t b) {
    o.push_back(' '), o.push_back(a), o.push_back(' '), o.push_back(b);
  });
  // ([0-9])(-) -> '\1 \2 '
  spaced = sub_pairs(spaced, is_digit, [](char32_t c) { return c == '-'; },
                     [](std::u32string& o, char32_t a, char32_t b) {
                       o.push_back(a), o.push_back(' '), o.push_back(b), o.push_back(' ');
                     });
  return spaced;  // the caller splits on whitespace
}

// mteval-v14 international tokenization (sacreBLEU's TokenizerV14International).
std::u32string tokenize_intl(const std::u32string& line) {
  auto not_number = [](char32_t c) { return !is_number(c); };
  auto punct = [](char32_t c) { return is_punct(c); };
  // (\P{N})(\p{P}) -> '\1 \2 '
  std::u32string s = sub_pairs(line, not_number, punct, [](std::u32string& o, char32_t a, char32_t b) {
    o.push_back(a), o.push_back(' '), o.push_back(b), o.push_back(' ');
  });
  // (\p{P})(\P{N}) -> ' \1 \2'
  s = sub_pairs(s, punct, not_number, [](std::u32string& o, char32_t a, char32_t b) {
    o.push_back(' '), o.push_back(a), o.push_back(' '), o.push_back(b);
  });
  // (\p{S}) -> ' \1 '
  std::u32string out;
  out.reserve(s.size() + 16);
  for (char32_t c : s) {
    if (is_symbol(c)) {
      out.push_back(' '), out.push_back(c), out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void check_tokenizer(const std::string& name) {
  if (name != "13a" && name != "none" && name != "intl" && name != "char")
    throw std::invalid_argument("BLEU tokenize must be 13a, none, intl or char, not '" + name + "'");
}

double default_smooth_value(const std::string& method) {
  if (method == "floor") return 0.1;
  if (method == "add-k") return 1.0;
  return 0.0;
}

void check_smooth(const std::string& method) {
  if (method != "exp" && method != "floor" && method != "add-k" && method != "none")
    throw std::invalid_argument("BLEU smooth must be exp, floor, add-k or none, not '" + method + "'");
}

// sacreBLEU's my_log: log of a non-positive number is a large negative constant.
double my_log(double x) { return x > 0 ? std::log(x) : -9999999999.0; }

using NgramCounts = std::map<std::vector<std::u32string>, int64_t>;

// All n-grams of orders 1..max_order of the whitespace-split tokens, and the token count.
NgramCounts word_ngrams(const std::vector<std::u32string>& tokens, int max_order) {
  NgramCounts counts;
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (int order = 1; order <= max_order; ++order)
    for (int64_t i = 0; i + order <= n; ++i)
      ++counts[std::vector<std::u32string>(tokens.begin() + i, tokens.begin() + i + order)];
  return counts;
}

struct SegmentStats {
  int64_t sys_len = 0, ref_len = 0;
  std::vector<int64_t> correct, total;
};

std::string smooth_signature(const BleuOptions& o) {
  if (o.smooth == "floor" || o.smooth == "add-k") {
    const double v = o.smooth_value < 0 ? default_smooth_value(o.smooth) : o.smooth_value;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s[%.2f]", o.smooth.c_str(), v);
    return buf;
  }
  return o.smooth;
}

}  // namespace

namespace metrics_detail {

std::u32string prepare(const std::string& text, bool lowercase) {
  std::u32string s = unicode::decode_utf8(text);
  return lowercase ? unicode::lower(s) : s;
}

std::vector<std::u32string> bleu_tokens(const std::string& text, const std::string& tokenize,
                                        bool lowercase) {
  std::u32string s = unicode::rstrip(prepare(text, lowercase));
  if (tokenize == "13a") return unicode::split(tokenize_13a(std::move(s)));
  if (tokenize == "intl") return unicode::split(tokenize_intl(s));
  if (tokenize == "char") {
    // " ".join(chars) then split(): every non-whitespace character is a token.
    std::vector<std::u32string> out;
    for (char32_t c : s)
      if (!unicode::is_space(c)) out.emplace_back(1, c);
    return out;
  }
  return unicode::split(s);  // none
}

std::vector<std::vector<std::string>> transpose_references(
    const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
    std::string& nrefs) {
  if (refs.empty()) throw std::invalid_argument("no reference stream given");
  for (size_t k = 0; k < refs.size(); ++k)
    if (refs[k].size() != hyps.size())
      throw std::invalid_argument("reference stream " + std::to_string(k + 1) + " has " +
                                  std::to_string(refs[k].size()) + " lines but there are " +
                                  std::to_string(hyps.size()) + " hypotheses");
  std::vector<std::vector<std::string>> per_sentence(hyps.size());
  std::set<size_t> counts;
  for (size_t i = 0; i < hyps.size(); ++i) {
    // Empty references are dropped (a sentence may have fewer references); none left is an error.
    for (const auto& stream : refs)
      if (!stream[i].empty()) per_sentence[i].push_back(stream[i]);
    if (per_sentence[i].empty())
      throw std::invalid_argument("empty reference for sentence " + std::to_string(i + 1));
    counts.insert(per_sentence[i].size());
  }
  nrefs = counts.size() == 1 ? std::to_string(*counts.begin())
          : counts.empty()   ? std::to_string(refs.size())
                             : "var";
  return per_sentence;
}

}  // namespace metrics_detail

std::string BleuScore::format() const {
  std::string prec;
  char buf[64];
  for (size_t i = 0; i < precisions.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.1f", i ? "/" : "", precisions[i]);
    prec += buf;
  }
  const double ratio = ref_len ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0;
  char out[256];
  std::snprintf(out, sizeof out, "BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)",
                score, prec.c_str(), bp, ratio, static_cast<long long>(sys_len),
                static_cast<long long>(ref_len));
  return out;
}

BleuScore compute_bleu(const std::vector<int64_t>& counts, const std::vector<int64_t>& totals,
                       int64_t sys_len, int64_t ref_len, const BleuOptions& options) {
  check_smooth(options.smooth);
  const int max_order = options.max_order;
  if (max_order < 1) throw std::invalid_argument("BLEU max_order must be >= 1");
  if (static_cast<int>(counts.size()) != max_order || static_cast<int>(totals.size()) != max_order)
    throw std::invalid_argument("compute_bleu: counts and totals need max_order entries");
  const double smooth_value =
      options.smooth_value < 0 ? default_smooth_value(options.smooth) : options.smooth_value;

  BleuScore s;
  s.counts = counts;
  s.totals = totals;
  s.sys_len = sys_len;
  s.ref_len = ref_len;
  s.bp = sys_len < ref_len ? (sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) /
                                                              static_cast<double>(sys_len))
                                          : 0.0)
                           : 1.0;
  s.precisions.assign(static_cast<size_t>(max_order), 0.0);
  bool any = false;
  for (int64_t c : counts) any = any || c != 0;
  if (!any) return s;  // no match at all: 0 (sacreBLEU #141)

  double smooth_mteval = 1.0;
  int eff_order = max_order;
  for (int n = 1; n <= max_order; ++n) {
    double correct = static_cast<double>(counts[n - 1]);
    double total = static_cast<double>(totals[n - 1]);
    if (options.smooth == "add-k" && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0) break;
    if (options.effective_order) eff_order = n;
    if (correct == 0) {
      if (options.smooth == "exp") {
        smooth_mteval *= 2;
        s.precisions[n - 1] = 100.0 / (smooth_mteval * total);
      } else if (options.smooth == "floor") {
        s.precisions[n - 1] = 100.0 * smooth_value / total;
      }
    } else {
      s.precisions[n - 1] = 100.0 * correct / total;
    }
  }
  double log_sum = 0;
  for (int n = 0; n < eff_order; ++n) log_sum += my_log(s.precisions[n]);
  s.score = s.bp * std::exp(log_sum / eff_order);
  return s;
}

void BleuOptions::validate() const {
  check_tokenizer(tokenize);
  check_smooth(smooth);
  if (max_order < 1) throw std::invalid_argument("BLEU max_order must be >= 1");
}

BleuStats& BleuStats::operator+=(const BleuStats& other) {
  if (counts.size() != other.counts.size() || totals.size() != other.totals.size())
    throw std::invalid_argument("BleuStats: adding statistics of different n-gram orders");
  for (size_t n = 0; n < counts.size(); ++n) counts[n] += other.counts[n];
  for (size_t n = 0; n < totals.size(); ++n) totals[n] += other.totals[n];
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  return *this;
}

BleuScore compute_bleu(const BleuStats& summed, const BleuOptions& options) {
  return compute_bleu(summed.counts, summed.totals, summed.sys_len, summed.ref_len, options);
}

namespace {

// sacreBLEU's BLEU._compute_segment_statistics for every sentence.
std::vector<BleuStats> stats_from_sentences(
    const std::vector<std::string>& hyps,
    const std::vector<std::vector<std::string>>& per_sentence_refs, const BleuOptions& options) {
  check_tokenizer(options.tokenize);
  check_smooth(options.smooth);
  const int max_order = options.max_order;
  if (max_order < 1) throw std::invalid_argument("BLEU max_order must be >= 1");
  std::vector<BleuStats> out(hyps.size());
  for (size_t i = 0; i < hyps.size(); ++i) {
    BleuStats& st = out[i];
    st.counts.assign(static_cast<size_t>(max_order), 0);
    st.totals.assign(static_cast<size_t>(max_order), 0);
    NgramCounts ref_ngrams;
    std::vector<int64_t> ref_lens;
    for (const auto& ref : per_sentence_refs[i]) {
      auto tokens = metrics_detail::bleu_tokens(ref, options.tokenize, options.lowercase);
      ref_lens.push_back(static_cast<int64_t>(tokens.size()));
      for (auto& kv : word_ngrams(tokens, max_order)) {
        auto& slot = ref_ngrams[kv.first];
        slot = std::max(slot, kv.second);
      }
    }
    auto hyp_tokens = metrics_detail::bleu_tokens(hyps[i], options.tokenize, options.lowercase);
    const int64_t hyp_len = static_cast<int64_t>(hyp_tokens.size());
    // Closest reference length; ties go to the shorter reference.
    int64_t best_diff = -1, best_len = -1;
    for (int64_t len : ref_lens) {
      const int64_t diff = std::llabs(hyp_len - len);
      if (best_diff == -1 || diff < best_diff) {
        best_diff = diff;
        best_len = len;
      } else if (diff == best_diff && len < best_len) {
        best_len = len;
      }
    }
    st.sys_len = hyp_len;
    st.ref_len = best_len;
    for (const auto& kv : word_ngrams(hyp_tokens, max_order)) {
      const size_t n = kv.first.size() - 1;
      st.totals[n] += kv.second;
      auto it = ref_ngrams.find(kv.first);
      if (it != ref_ngrams.end()) st.counts[n] += std::min(kv.second, it->second);
    }
  }
  return out;
}

std::string bleu_signature(const std::string& nrefs, const BleuOptions& options) {
  return "nrefs:" + nrefs + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.effective_order ? "yes" : "no") + "|tok:" + options.tokenize +
         "|smooth:" + smooth_signature(options) + "|version:seqzoo-" SEQZOO_VERSION;
}

}  // namespace

std::vector<BleuStats> sentence_bleu_stats(const std::vector<std::string>& hyps,
                                           const std::vector<std::vector<std::string>>& refs,
                                           const BleuOptions& options) {
  std::string nrefs;
  auto per_sentence = metrics_detail::transpose_references(hyps, refs, nrefs);
  return stats_from_sentences(hyps, per_sentence, options);
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& refs,
                      const BleuOptions& options) {
  std::string nrefs;
  auto per_sentence = metrics_detail::transpose_references(hyps, refs, nrefs);
  // The corpus statistics are the sums of the sentence statistics (sacreBLEU sum_of_lists).
  BleuStats total;
  total.counts.assign(static_cast<size_t>(std::max(options.max_order, 0)), 0);
  total.totals = total.counts;
  for (const auto& st : stats_from_sentences(hyps, per_sentence, options)) total += st;
  BleuScore s = compute_bleu(total, options);
  s.signature = bleu_signature(nrefs, options);
  return s;
}

BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs,
                        const BleuOptions& options) {
  std::vector<std::vector<std::string>> streams;
  for (const auto& r : refs) streams.push_back({r});
  return corpus_bleu({hyp}, streams, options);
}

}  // namespace seqzoo
