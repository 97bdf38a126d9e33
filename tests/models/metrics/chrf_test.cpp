// chrF and chrF++ against the published sacreBLEU 2.x test vectors (test_chrf.py).
#include <catch2/catch.hpp>

#include <cstdio>
#include <stdexcept>

#include "models/metrics/bleu.h"
#include "models/metrics/metrics_util.h"
#include "models/metrics/unicode.h"
#include "tests/models/metrics/metrics_fixtures.h"

using namespace seqzoo;
using namespace seqzoo::test;


TEST_CASE("chrF matches sacreBLEU (test_chrf.py)", "[metrics]") {
  ChrfOptions eps;
  eps.beta = 3;
  eps.eps_smoothing = true;
  struct Case {
    std::vector<std::string> hyps, refs;
    double expected;
  };
  for (const Case& c : std::vector<Case>{
           {{"abcdefg"}, {"hijklmnop"}, 0.0},
           {{"a"}, {"b"}, 0.0},
           {{""}, {"b"}, 0.0},
           {{""}, {"ref"}, 0.0},
           {{""}, {"reference"}, 0.0},
           {{"aa"}, {"ab"}, 8.3333},
           {{"a", "b"}, {"a", "c"}, 8.3333},
           {{"a"}, {"a"}, 16.6667},
           {{"a b c"}, {"a b c"}, 50.0},
           {{"a b c"}, {"abc"}, 50.0},
           {{" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."},
            {"risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."},
            63.361730},
           {{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
            {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
            64.1302698},
           {{"Niemand hat die Absicht, eine Mauer zu errichten"}, {"Niemand hat die Absicht, eine Mauer zu errichten"}, 100.0},
       }) {
    INFO(c.hyps[0]);
    CHECK(corpus_chrf(c.hyps, {c.refs}, eps).score == Approx(c.expected).margin(1e-4));
  }
  ChrfOptions eff;
  eff.beta = 3;
  for (const Case& c : std::vector<Case>{{{"a"}, {"a"}, 100.0},
                                         {{""}, {"reference"}, 0.0},
                                         {{"a b c"}, {"a b c"}, 100.0},
                                         {{"a b c"}, {"abc"}, 100.0},
                                         {{""}, {"c"}, 0.0},
                                         {{"a", "b"}, {"a", "c"}, 50.0},
                                         {{"aa"}, {"ab"}, 25.0}}) {
    INFO(c.hyps[0]);
    CHECK(corpus_chrf(c.hyps, {c.refs}, eff).score == Approx(c.expected).margin(1e-4));
  }
  ChrfOptions space;
  space.beta = 3;
  space.whitespace = true;
  CHECK(corpus_chrf({"Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."},
                    {{"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."}}, space)
            .score == Approx(67.3481606).margin(1e-4));
  CHECK(corpus_chrf({"risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."},
                    {{"risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."}},
                    space)
            .score == Approx(65.2414427).margin(1e-4));

  ChrfOptions sent;
  sent.eps_smoothing = true;
  CHECK(sentence_chrf("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                      {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."}, sent)
            .score == Approx(39.14078509).margin(1e-4));
  CHECK(sentence_chrf("Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
                      {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."}, sent)
            .score == Approx(31.22557079).margin(1e-4));
  CHECK(sentence_chrf("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                      {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."}, sent)
            .score == Approx(57.15704367).margin(1e-4));

  // README: default chrF on the two-reference example.
  auto readme = corpus_chrf(kHyps, {kRef1, kRef2});
  CHECK(readme.format() == "chrF2 = 59.73");
  CHECK(readme.signature == std::string("nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:seqzoo-") + SEQZOO_VERSION);
}

TEST_CASE("chrF++ adds word n-grams with punctuation split off word edges", "[metrics]") {
  // char 1-grams {a,b,c,d} vs {a,b,c,e}: P = R = 3/4; word 1-grams {ab,cd} vs {ab,ce}: 1/2.
  ChrfOptions o;
  o.char_order = 1;
  o.word_order = 1;
  o.beta = 1;
  CHECK(corpus_chrf({"ab cd"}, {{"ab ce"}}, o).score == Approx(62.5).epsilon(1e-12));
  // "(hi)" splits into "(hi" and ")" (sacreBLEU issue #124), so only ")" matches ") (hi".
  o.char_order = 0;
  CHECK(corpus_chrf({"(hi)"}, {{") hi"}}, o).score == Approx(50.0).epsilon(1e-12));
  ChrfOptions pp;
  pp.word_order = 2;
  auto s = corpus_chrf(kHyps, {kRef1, kRef2}, pp);
  CHECK(s.name == "chrF2++");
  CHECK(s.score > 0);
  CHECK(s.score < 100);
  CHECK(corpus_chrf({"a b c"}, {{"a b c"}}, pp).score == Approx(100.0));
  // The best reference is chosen per sentence: adding a worse reference changes nothing.
  auto single = corpus_chrf({"the cat sat"}, {{"the cat sat"}});
  auto both = corpus_chrf({"the cat sat"}, {{"a dog stood"}, {"the cat sat"}});
  CHECK(both.score == Approx(single.score));
}

TEST_CASE("corpus chrF is the F-score of the summed sentence statistics", "[metrics]") {
  const std::vector<std::vector<std::string>> refs = {kRef1, kRef2};
  for (int word_order : {0, 2}) {
    ChrfOptions o;
    o.word_order = word_order;
    const auto stats = sentence_chrf_stats(kHyps, refs, o);
    REQUIRE(stats.size() == kHyps.size());
    CHECK(stats[0].counts.size() == static_cast<size_t>(3 * (6 + word_order)));
    ChrfStats sum = stats[0];
    sum += stats[1];
    sum += stats[2];
    const ChrfScore corpus = corpus_chrf(kHyps, refs, o);
    CHECK(chrf_from_stats(sum, o).score == corpus.score);
    CHECK(chrf_from_stats(sum, o).name == corpus.name);
    // The float32 ratios of a bootstrap resample move the score only in float32's last digits.
    CHECK(metrics_detail::chrf_resample_score(sum.counts, o) == Approx(corpus.score).epsilon(1e-6));
  }
  ChrfStats wrong;
  wrong.counts = {1, 2, 3};
  CHECK_THROWS_AS(chrf_from_stats(wrong, ChrfOptions{}), std::invalid_argument);
}
