// The compare use-case (tools/app/compare.h): length buckets, the long-sentence probe, curves from
// metrics rows, and whole comparisons of hypothesis files (bucket BLEU against corpus BLEU of the
// subset, bootstrap on identical systems, a well-formed HTML report with one SVG per plot).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/common/files.h"
#include "data/common/text.h"
#include "tools/app/compare.h"

using namespace seqzoo;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("seqzoo_compare_test_" + std::to_string(::getpid()));
    // A folder left by an earlier test process with the same id (ids are reused) is stale.
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// A small test set: sources of 1..30 words, references, and two systems' outputs.
struct TestSet {
  std::vector<std::string> src, ref, good, bad;
};

TestSet test_set(int n) {
  const std::vector<std::string> vocab = {"ein", "mann", "fährt", "mit", "dem", "fahrrad", "durch", "die", "stadt",
                                          "zwei", "hunde", "spielen", "im", "schnee", "."};
  const std::vector<std::string> en = {"a", "man", "rides", "with", "the", "bike", "through", "the", "city",
                                       "two", "dogs", "play", "in", "snow", "."};
  TestSet t;
  for (int i = 0; i < n; ++i) {
    const int len = 1 + (i * 7) % 30;
    std::string s, r, g, b;
    for (int w = 0; w < len; ++w) {
      const size_t k = static_cast<size_t>((i + w * 5) % static_cast<int>(vocab.size()));
      s += (w ? " " : "") + vocab[k];
      r += (w ? " " : "") + en[k];
      // "good" drops every 7th word, "bad" every 2nd and more so for long sentences.
      if (w % 7 != 3) g += (g.empty() ? "" : " ") + en[k];
      if (w % 2 == 0 && w < 12) b += (b.empty() ? "" : " ") + en[k];
    }
    t.src.push_back(s);
    t.ref.push_back(r);
    t.good.push_back(g);
    t.bad.push_back(b);
  }
  return t;
}

// A strict XML well-formedness check (the report is written as XHTML): balanced, properly nested
// tags, quoted attributes, known entities only. Returns "" or the first problem; counts elements.
std::string xml_problem(const std::string& doc, std::map<std::string, int>& counts) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      const size_t semi = doc.find(';', i);
      if (semi == std::string::npos) return "unterminated entity";
      const std::string e = doc.substr(i, semi - i + 1);
      if (e != "&amp;" && e != "&lt;" && e != "&gt;" && e != "&quot;" && e != "&#39;") return "unknown entity " + e;
      i = semi + 1;
      continue;
    }
    if (doc[i] != '<') {
      if (doc[i] == '>') return "stray > at byte " + std::to_string(i);
      ++i;
      continue;
    }
    if (doc.compare(i, 2, "<!") == 0 || doc.compare(i, 2, "<?") == 0) {
      i = doc.find('>', i);
      if (i == std::string::npos) return "unterminated declaration";
      ++i;
      continue;
    }
    const size_t end = doc.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = doc.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.find('<') != std::string::npos) return "< inside a tag";
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> closes <" + (stack.empty() ? std::string("nothing") : stack.back()) + ">";
      stack.pop_back();
      continue;
    }
    const bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.pop_back();
    const std::string name = tag.substr(0, tag.find_first_of(" \n\t"));
    // Attributes: name="value" pairs.
    size_t q = 0;
    for (char c : tag) q += c == '"' ? 1 : 0;
    if (q % 2 != 0) return "unbalanced quotes in <" + name + ">";
    counts[name] += 1;
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

}  // namespace

TEST_CASE("compare: words, repeated n-grams", "[tools]") {
  CHECK(count_words("") == 0);
  CHECK(count_words("  a  b\tc ") == 3);
  CHECK(has_repeated_ngram("a b c a b c", 3));
  CHECK_FALSE(has_repeated_ngram("a b c a b d", 3));
  CHECK(has_repeated_ngram("the the", 1));
  CHECK_FALSE(has_repeated_ngram("a b", 3));
  CHECK_THROWS_AS(has_repeated_ngram("a", 0), std::invalid_argument);
}

TEST_CASE("compare: length buckets cover every sentence once, in consecutive ranges of enough sentences", "[tools]") {
  const TestSet t = test_set(1000);
  std::vector<int64_t> lengths;
  for (const auto& s : t.src) lengths.push_back(count_words(s));
  for (auto [max_buckets, min_size] : {std::pair<int64_t, int64_t>{5, 100}, {3, 50}, {10, 150}, {1, 1}, {8, 400}}) {
    const auto buckets = length_buckets(lengths, max_buckets, min_size);
    INFO(max_buckets << " buckets of >= " << min_size);
    CHECK(static_cast<int64_t>(buckets.size()) <= max_buckets);
    CHECK(!buckets.empty());
    std::set<int64_t> seen;
    for (size_t b = 0; b < buckets.size(); ++b) {
      CHECK(static_cast<int64_t>(buckets[b].sentences.size()) >= std::min<int64_t>(min_size, 1000));
      if (b > 0) CHECK(buckets[b].lo == buckets[b - 1].hi + 1);
      CHECK(buckets[b].lo <= buckets[b].hi);
      for (int64_t i : buckets[b].sentences) {
        CHECK(seen.insert(i).second);
        CHECK(lengths[static_cast<size_t>(i)] >= buckets[b].lo);
        CHECK(lengths[static_cast<size_t>(i)] <= buckets[b].hi);
      }
    }
    CHECK(seen.size() == 1000);
  }
  CHECK(length_buckets(lengths, 5, 100).size() == 5);
  CHECK(length_buckets({3, 3, 3}, 5, 100).size() == 1);
  CHECK_THROWS_AS(length_buckets({}, 5, 100), std::invalid_argument);
  CHECK_THROWS_AS(length_buckets(lengths, 0, 100), std::invalid_argument);
}

TEST_CASE("compare: the long-sentence probe joins k consecutive pairs as documented", "[tools]") {
  const std::vector<std::string> src = {"s1", "s2", "s3", "s4", "s5"}, ref = {"r1", "r2", "r3", "r4", "r5"};
  const ProbeSet p = build_long_sentence_probe(src, ref, 3);
  // k = 1: 5 inputs; k = 2: (1,2) (3,4), 5 dropped; k = 3: (1,2,3), 4-5 dropped.
  REQUIRE(p.src.size() == 8);
  CHECK(p.src[0] == "s1");
  CHECK(p.src[5] == "s1 s2");
  CHECK(p.ref[6] == "r3 r4");
  CHECK(p.src[7] == "s1 s2 s3");
  CHECK(p.k == std::vector<int64_t>{1, 1, 1, 1, 1, 2, 2, 3});
  CHECK(p.first == std::vector<int64_t>{0, 1, 2, 3, 4, 0, 2, 0});
  CHECK_THROWS_AS(build_long_sentence_probe(src, {"r1"}, 2), std::invalid_argument);
  CHECK_THROWS_AS(build_long_sentence_probe(src, ref, 0), std::invalid_argument);
}

TEST_CASE("compare: validation curves against minutes, target tokens and updates", "[tools]") {
  std::vector<MetricsRow> rows;
  auto train = [&](int64_t step, double elapsed, double tok_s) {
    MetricsRow r;
    r.step = step;
    r.kind = "train";
    r.tgt_tok_s = tok_s;
    r.elapsed = elapsed;
    rows.push_back(r);
  };
  auto valid = [&](int64_t step, double elapsed, double bleu) {
    MetricsRow r;
    r.step = step;
    r.kind = "valid";
    r.valid_bleu = bleu;
    r.elapsed = elapsed;
    rows.push_back(r);
  };
  // 100 target tokens per update at 50 tokens/s: 2 s per update; validation takes 30 s.
  train(10, 20, 50);
  train(20, 40, 50);
  valid(20, 70, 5.0);
  train(30, 90, 50);  // 20 s of training after the validation's 30 s
  train(40, 110, 50);
  valid(40, 140, 9.0);
  const ValidCurve c = valid_curve(rows);
  REQUIRE(c.bleu == std::vector<double>{5.0, 9.0});
  CHECK(c.updates == std::vector<double>{20, 40});
  CHECK(c.minutes[1] == Approx(140.0 / 60));
  CHECK(c.tokens[0] == Approx(2000));
  CHECK(c.tokens[1] == Approx(4000));
  CHECK(c.tgt_tok_s == Approx(50));
  CHECK(c.last_step == 40);
  CHECK(valid_curve({}).bleu.empty());
}

TEST_CASE("compare: hypothesis files side by side, bucket BLEU is the corpus BLEU of the subset, the report parses",
          "[tools]") {
  const TestSet t = test_set(400);
  const fs::path dir = scratch_dir();
  write_lines((dir / "test.src").string(), t.src);
  write_lines((dir / "test.ref").string(), t.ref);
  write_lines((dir / "good.hyp").string(), t.good);
  write_lines((dir / "bad.hyp").string(), t.bad);
  write_lines((dir / "bad-copy.hyp").string(), t.bad);
  CompareOptions o;
  o.systems = {(dir / "bad.hyp").string(), (dir / "bad-copy.hyp").string(), (dir / "good.hyp").string()};
  o.src = (dir / "test.src").string();
  o.refs = {(dir / "test.ref").string()};
  o.max_buckets = 4;
  o.min_bucket = 50;
  o.bootstrap.samples = 100;
  o.html = (dir / "report.html").string();
  o.markdown = (dir / "report.md").string();
  std::ostringstream out, progress;
  compare_systems(o, [](const SearchOptions& s) { return s; }, torch::kCPU, out, progress);
  const std::string md = out.str();
  INFO(md);
  CHECK(read_text_file(o.markdown) == md);
  // Overall rows: the copy of the baseline has p = 1; the good system beats it.
  CHECK(md.find("| bad-copy.hyp | (hypotheses) | - | - | " + format_printf("%.2f", corpus_bleu(t.bad, {t.ref}).score)) !=
        std::string::npos);
  CHECK(md.find("| 1.0000 |") != std::string::npos);
  CHECK(md.find("(baseline)") != std::string::npos);
  // Each bucket's BLEU is corpus BLEU on that subset.
  std::vector<int64_t> lengths;
  for (const auto& s : t.src) lengths.push_back(count_words(s));
  const auto buckets = length_buckets(lengths, 4, 50);
  REQUIRE(buckets.size() == 4);
  for (const auto& b : buckets) {
    std::vector<std::string> hyps, refs;
    for (int64_t i : b.sentences) {
      hyps.push_back(t.good[static_cast<size_t>(i)]);
      refs.push_back(t.ref[static_cast<size_t>(i)]);
    }
    const std::string header = std::to_string(b.lo) + "-" + std::to_string(b.hi) + " words (" +
                               std::to_string(b.sentences.size()) + ")";
    CHECK(md.find(header) != std::string::npos);
    CHECK(md.find(" " + format_printf("%.2f", corpus_bleu(hyps, {refs}).score) + " (chrF " +
                  format_printf("%.1f", corpus_chrf(hyps, {refs}).score)) != std::string::npos);
  }
  // Hypothesis files have no training curves, no probe decodes, no attention: two plots remain
  // unless there is no probe (files cannot be decoded), so one: BLEU by length.
  const std::string html = read_text_file(o.html);
  std::map<std::string, int> counts;
  CHECK(xml_problem(html, counts) == "");
  CHECK(counts["svg"] == 1);
  CHECK(counts["table"] >= 3);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(progress.str().find("paired bootstrap") != std::string::npos);
}

TEST_CASE("compare: bad systems and options are named", "[tools]") {
  const fs::path dir = scratch_dir();
  write_lines((dir / "one.src").string(), {"a b"});
  write_lines((dir / "one.ref").string(), {"a b"});
  write_lines((dir / "two.hyp").string(), {"a b", "c"});
  CompareOptions o;
  o.src = (dir / "one.src").string();
  o.refs = {(dir / "one.ref").string()};
  std::ostringstream out, progress;
  auto same = [](const SearchOptions& s) { return s; };
  auto message = [&](const CompareOptions& c) {
    try {
      compare_systems(c, same, torch::kCPU, out, progress);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message(o).find("no systems") != std::string::npos);
  o.systems = {(dir / "missing.hyp").string()};
  CHECK(message(o).find("missing.hyp: no such run directory or hypothesis file") != std::string::npos);
  o.systems = {(dir / "two.hyp").string()};
  CHECK(message(o).find("have 2 lines but the test set 1") != std::string::npos);
  o.systems = {dir.string()};
  CHECK(message(o).find("without config.yaml") != std::string::npos);
  CompareOptions no_src;
  no_src.systems = {(dir / "two.hyp").string()};
  CHECK(message(no_src).find("give the test set as --src FILE --ref FILE") != std::string::npos);
  o.systems = {(dir / "one.ref").string()};
  o.bootstrap.samples = 0;
  CHECK(message(o).find("--samples must be in [1, 100000], got 0") != std::string::npos);
}
