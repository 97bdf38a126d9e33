#include "models/training/metrics.h"

#include "data/common/text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace seqzoo {
namespace {

std::string field(double v, int digits) { return std::isnan(v) ? "" : format_number(v, digits); }

double parse_field(const std::string& s) {
  if (s.empty()) return MetricsRow::kNone;
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    return used == s.size() ? v : MetricsRow::kNone;
  } catch (const std::exception&) {
    return MetricsRow::kNone;
  }
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == '\t') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// "Nice" axis ticks (1, 2, 5 x 10^k) covering [lo, hi].
}  // namespace

std::string metrics_header() {
  return "step\tepoch\tkind\tloss\tnll\tppl\tlr\tsrc_tok_s\ttgt_tok_s\tvalid_loss\tvalid_nll\tvalid_ppl\tvalid_bleu\telapsed";
}

std::string metrics_line(const MetricsRow& r) {
  std::ostringstream o;
  o << r.step << '\t' << r.epoch << '\t' << r.kind << '\t' << field(r.loss, 6) << '\t' << field(r.nll, 6) << '\t'
    << field(r.ppl, 6) << '\t' << field(r.lr, 6) << '\t' << field(r.src_tok_s, 6) << '\t'
    << field(r.tgt_tok_s, 6) << '\t' << field(r.valid_loss, 6) << '\t' << field(r.valid_nll, 6) << '\t'
    << field(r.valid_ppl, 6) << '\t' << field(r.valid_bleu, 6) << '\t' << format_number(r.elapsed, 6);
  return o.str();
}

std::vector<MetricsRow> parse_metrics(const std::string& text) {
  std::vector<MetricsRow> rows;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    auto f = split_tabs(line);
    if (f.size() != 14) continue;
    MetricsRow r;
    double step = parse_field(f[0]), epoch = parse_field(f[1]);
    if (std::isnan(step) || std::isnan(epoch)) continue;
    r.step = static_cast<int64_t>(step);
    r.epoch = static_cast<int64_t>(epoch);
    r.kind = f[2];
    r.loss = parse_field(f[3]);
    r.nll = parse_field(f[4]);
    r.ppl = parse_field(f[5]);
    r.lr = parse_field(f[6]);
    r.src_tok_s = parse_field(f[7]);
    r.tgt_tok_s = parse_field(f[8]);
    r.valid_loss = parse_field(f[9]);
    r.valid_nll = parse_field(f[10]);
    r.valid_ppl = parse_field(f[11]);
    r.valid_bleu = parse_field(f[12]);
    double e = parse_field(f[13]);
    r.elapsed = std::isnan(e) ? 0 : e;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace seqzoo
