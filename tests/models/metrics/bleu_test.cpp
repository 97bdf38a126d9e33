// BLEU against the published sacreBLEU 2.x test vectors (test/test_bleu.py, test_sentence_bleu.py and
// the README examples).
#include <catch2/catch.hpp>

#include <cstdio>
#include <stdexcept>

#include "models/metrics/bleu.h"
#include "models/metrics/metrics_util.h"
#include "models/metrics/unicode.h"
#include "tests/models/metrics/metrics_fixtures.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

// sacreBLEU's compat raw_corpus_bleu: tokenize none, floor smoothing, effective order.
BleuScore raw_corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                          double floor_value = -1) {
  return corpus_bleu(hyps, {refs}, opts("none", "floor", floor_value, true));
}

std::string joined(const std::vector<std::u32string>& tokens) {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + unicode::encode_utf8(tokens[i]);
  return out;
}

}  // namespace

TEST_CASE("corpus BLEU matches sacreBLEU on the README example", "[metrics]") {
  const std::vector<std::vector<std::string>> refs = {kRef1, kRef2};
  auto s = corpus_bleu(kHyps, refs);
  CHECK(s.score == Approx(48.530827).margin(1e-6));
  CHECK(s.format() == "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  CHECK(s.signature == std::string("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:seqzoo-") + SEQZOO_VERSION);
  CHECK(corpus_bleu(kHyps, refs, opts("13a")).score == Approx(48.530827).margin(1e-6));
  CHECK(corpus_bleu(kHyps, refs, opts("13a", "none")).score == Approx(48.530827).margin(1e-6));
  CHECK(corpus_bleu(kHyps, refs, opts("none")).score == Approx(49.1919566).margin(1e-6));
  CHECK(corpus_bleu(kHyps, refs, opts("intl")).score == Approx(43.91623493).margin(1e-6));
  // Empty hypotheses are scored, not dropped.
  auto empty = corpus_bleu({"", "", ""}, refs);
  CHECK(empty.score == 0.0);
  CHECK(empty.sys_len == 0);

  auto one = corpus_bleu(kHyps, {kRef1});
  CHECK(one.score == Approx(45.06750632).margin(1e-6));
  CHECK(one.counts == std::vector<int64_t>{12, 6, 4, 3});
  CHECK(one.totals == std::vector<int64_t>{17, 14, 11, 8});
  CHECK(one.signature.rfind("nrefs:1|", 0) == 0);
}

TEST_CASE("BLEU with other maximum n-gram orders (test_bleu.py)", "[metrics]") {
  const std::vector<std::pair<int, std::string>> cases = {{1, "77.65"}, {2, "60.50"}, {3, "53.93"},
                                                          {4, "48.53"}, {5, "46.14"}, {6, "43.28"}};
  for (const auto& c : cases) {
    BleuOptions o;
    o.max_order = c.first;
    auto s = corpus_bleu(kHyps, {kRef1, kRef2}, o);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", s.score);
    CHECK(std::string(buf) == c.second);
    CHECK(s.counts.size() == static_cast<size_t>(c.first));
  }
}

TEST_CASE("a sentence may have fewer references (nrefs:var)", "[metrics]") {
  std::vector<std::string> r1 = kRef1;
  r1[0] = "";
  auto s = corpus_bleu(kHyps, {r1, kRef2});
  CHECK(s.format() == "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
  CHECK(s.signature.rfind("nrefs:var|", 0) == 0);
  CHECK_THROWS_AS(corpus_bleu({"a"}, {{""}}), std::invalid_argument);
  CHECK_THROWS_AS(corpus_bleu({"a", "b"}, {{"a"}}), std::invalid_argument);
  CHECK_THROWS_AS(corpus_bleu({"a"}, {}), std::invalid_argument);
  CHECK_THROWS_AS(corpus_bleu({"a"}, {{"a"}}, opts("13a", "bogus")), std::invalid_argument);
  CHECK_THROWS_AS(corpus_bleu({"a"}, {{"a"}}, opts("bogus")), std::invalid_argument);
}

TEST_CASE("raw BLEU, effective order, statistics and offsets (test_bleu.py)", "[metrics]") {
  // No match at all scores 0 in sacreBLEU 2.x (#141; 1.x gave 0.0037991784).
  CHECK(raw_corpus_bleu({"this is a test", "another test"}, {"ref1", "ref2"}, 0.01).score == 0.0);
  CHECK(raw_corpus_bleu({"this is a test"}, {"this is a test"}, 0.01).score / 100 == Approx(1.0).margin(1e-8));
  CHECK(raw_corpus_bleu({"this is a fest"}, {"this is a test"}, 0.01).score / 100 ==
        Approx(0.223606797749979).margin(1e-8));
  // Effective order.
  CHECK(raw_corpus_bleu({"test"}, {"a test"}, 0.01).score / 100 == Approx(0.3678794411714425).margin(1e-8));
  CHECK(raw_corpus_bleu({"a test"}, {"a test"}, 0.01).score / 100 == Approx(1.0).margin(1e-8));
  CHECK(raw_corpus_bleu({"a little test"}, {"a test"}, 0.01).score / 100 ==
        Approx(0.03218297948685433).margin(1e-8));
  // Statistics.
  auto st = raw_corpus_bleu({"am I am a character sequence"}, {"I am a symbol string sequence a a"}, 0.01);
  CHECK(st.counts == std::vector<int64_t>{4, 2, 1, 0});
  CHECK(st.totals == std::vector<int64_t>{6, 5, 4, 3});
  // Offsets: floor 0 gives 0, the default floor (0.1) 0.1555722182.
  CHECK(raw_corpus_bleu({"am I am a character sequence"}, {"I am a symbol string sequence a a"}, 0.0).score == 0.0);
  CHECK(raw_corpus_bleu({"am I am a character sequence"}, {"I am a symbol string sequence a a"}).score / 100 ==
        Approx(0.1555722182).margin(1e-8));
  CHECK(raw_corpus_bleu({"am I am a character sequence"}, {"I am a symbol string sequence a a"}, 0.1).score / 100 ==
        Approx(0.1555722182).margin(1e-8));
}

TEST_CASE("compute_bleu from statistics, degenerate cases (test_bleu.py)", "[metrics]") {
  auto s = compute_bleu({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11, opts("13a", "none"));
  CHECK(s.score / 100 == Approx(0.8375922397).margin(1e-8));
  struct Case {
    std::vector<int64_t> correct, total;
    int64_t sys, ref;
    double offset;
  };
  for (const Case& c : {Case{{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1, 0.0}, Case{{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10, 0.0},
                        Case{{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.0}, Case{{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6, 0.0},
                        Case{{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.1}, Case{{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5, 0.01}}) {
    CHECK(compute_bleu(c.correct, c.total, c.sys, c.ref, opts("13a", "floor", c.offset)).score == 0.0);
  }
  CHECK_THROWS_AS(compute_bleu({1, 2}, {1, 2, 3, 4}, 1, 1, {}), std::invalid_argument);
}

TEST_CASE("sentence BLEU with every smoothing and tokenizer (test_sentence_bleu.py)", "[metrics]") {
  const std::string ref = "producţia de zahăr brut se exprimă în zahăr alb;";
  const std::string sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
  struct Case {
    std::string smooth;
    double value;
    bool lowercase;
    std::string tok;
    double expected;
  };
  for (const Case& c : {Case{"exp", -1, false, "13a", 8.493}, Case{"none", -1, false, "13a", 0.0},
                        Case{"floor", -1, false, "13a", 4.51688}, Case{"floor", 0.1, false, "13a", 4.51688},
                        Case{"floor", 0.5, false, "13a", 10.10}, Case{"add-k", -1, false, "13a", 14.882},
                        Case{"add-k", 1, false, "13a", 14.882}, Case{"add-k", 2, false, "13a", 21.389},
                        Case{"exp", -1, false, "none", 7.347}, Case{"exp", -1, false, "intl", 8.493},
                        Case{"exp", -1, false, "char", 40.8759}, Case{"exp", -1, true, "char", 42.0267}}) {
    INFO(c.smooth << " " << c.value << " " << c.tok << " lc=" << c.lowercase);
    auto s = sentence_bleu(sys, {ref}, opts(c.tok, c.smooth, c.value, true, c.lowercase));
    CHECK(s.score == Approx(c.expected).margin(1e-3));
  }
  for (const std::string smooth : {"exp", "none", "floor", "add-k"})
    CHECK(sentence_bleu("this is a cat", {"okay thanks"}, opts("13a", smooth, -1, true)).score == 0.0);
  CHECK(sentence_bleu("test", {"a test"}, opts("13a", "exp", -1, true)).score ==
        Approx(36.78794412).margin(1e-6));
  CHECK(sentence_bleu("a little test", {"a test"}, opts("13a", "floor", 0.01, true)).score ==
        Approx(3.218297949).margin(1e-6));
  auto sig = sentence_bleu("a", {"a"}, opts("13a", "floor", -1, true, true)).signature;
  CHECK(sig.rfind("nrefs:1|case:lc|eff:yes|tok:13a|smooth:floor[0.10]|version:", 0) == 0);
}

TEST_CASE("13a and intl tokenizers follow mteval", "[metrics]") {
  using metrics_detail::bleu_tokens;
  CHECK(joined(bleu_tokens("It wasn't surprising.", "13a", false)) == "It wasn't surprising .");
  CHECK(joined(bleu_tokens("Pay $1,000.50 for 3-4 items, e.g. now.", "13a", false)) ==
        "Pay $ 1,000.50 for 3 - 4 items , e . g . now .");
  CHECK(joined(bleu_tokens("a &quot;b&quot; &amp;lt; c<skipped> &gt;", "13a", false)) == "a \" b \" < c >");
  CHECK(joined(bleu_tokens("hyph-\nen line\nbreak", "13a", false)) == "hyphen line break");
  CHECK(joined(bleu_tokens("x..y,,z", "13a", false)) == "x . . y , , z");
  CHECK(joined(bleu_tokens("Größe: 1.000,5 €!", "intl", false)) == "Größe : 1.000,5 € !");
  CHECK(joined(bleu_tokens("Year 2019.", "intl", false)) == "Year 2019.");  // as mteval-v14
  CHECK(joined(bleu_tokens("«Ça va?»", "intl", false)) == "« Ça va ? »");
  CHECK(joined(bleu_tokens("ab c", "char", false)) == "a b c");
  CHECK(joined(bleu_tokens("ÀB\u00a0c  ", "none", true)) == "àb c");
}

TEST_CASE("lowercasing follows Python's str.lower", "[metrics]") {
  auto lo = [](const std::string& s) { return unicode::encode_utf8(unicode::lower(unicode::decode_utf8(s))); };
  CHECK(lo("ÄÖÜ ÉÈ ŁŃ ΑΒΓ ДЖЯ") == "äöü éè łń αβγ джя");
  CHECK(lo("ΟΔΟΣ Σ ΣΑ") == "οδος σ σα");  // final sigma only at a word end
  CHECK(lo("\u0130") == "i\u0307");
  // Invalid UTF-8 bytes survive a round trip.
  const std::string bad = "a\xff\xfe" "b";
  CHECK(unicode::encode_utf8(unicode::decode_utf8(bad)) == bad);
}

TEST_CASE("corpus BLEU is compute_bleu of the summed sentence statistics, for any subset", "[metrics]") {
  const std::vector<std::vector<std::string>> refs = {kRef1, kRef2};
  for (const std::string tok : {"13a", "intl", "char"}) {
    const auto stats = sentence_bleu_stats(kHyps, refs, opts(tok));
    REQUIRE(stats.size() == kHyps.size());
    BleuStats sum = stats[0];
    sum += stats[1];
    sum += stats[2];
    CHECK(compute_bleu(sum, opts(tok)).score == corpus_bleu(kHyps, refs, opts(tok)).score);
    // A subset: sentences 0 and 2 alone.
    BleuStats sub = stats[0];
    sub += stats[2];
    CHECK(compute_bleu(sub, opts(tok)).score ==
          corpus_bleu({kHyps[0], kHyps[2]}, {{kRef1[0], kRef1[2]}, {kRef2[0], kRef2[2]}}, opts(tok)).score);
  }
  // Sentence 0 is an exact match of reference 1: every n-gram found, lengths equal.
  const auto first = sentence_bleu_stats({kHyps[0]}, {{kRef1[0]}}, opts());
  CHECK(first[0].counts == first[0].totals);
  CHECK(first[0].sys_len == first[0].ref_len);
  BleuStats other;
  other.counts = {1, 0};
  other.totals = {1, 0};
  BleuStats copy = first[0];
  CHECK_THROWS_AS(copy += other, std::invalid_argument);
}
