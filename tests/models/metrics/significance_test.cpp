// Paired bootstrap resampling (models/metrics/significance.h): the index draws against NumPy's
// legacy RandomState, the interval, and the p-value's behaviour on identical and distinct systems.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "models/metrics/significance.h"
#include "tests/models/metrics/metrics_fixtures.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

// A toy test set of 40 sentences: system "good" copies the reference, "bad" drops half the words.
struct Toy {
  std::vector<std::string> refs, good, bad;
};

Toy toy() {
  Toy t;
  const std::vector<std::string> words = {"a", "dog", "runs", "across", "the", "green", "field", "near", "two",
                                          "children", "who", "are", "playing", "with", "a", "red", "ball"};
  for (int i = 0; i < 40; ++i) {
    std::string ref, bad;
    const int len = 4 + i % 11;
    for (int w = 0; w < len; ++w) {
      const std::string& word = words[static_cast<size_t>((i * 7 + w * 3) % static_cast<int>(words.size()))];
      ref += (w ? " " : "") + word;
      if (w % 2 == 0) bad += (w ? " " : "") + word;
    }
    t.refs.push_back(ref + " .");
    t.good.push_back(ref + " .");
    t.bad.push_back(i % 3 == 0 ? ref + " ." : bad);
  }
  return t;
}

}  // namespace

TEST_CASE("bootstrap indices are NumPy's legacy RandomState(seed).randint(0, n, (samples, n))", "[metrics]") {
  // Reference values printed by NumPy 1.24: np.random.RandomState(12345).randint(0, 1000, size=(2, 5)),
  // RandomState(12345).randint(0, 3, size=(1, 8)), RandomState(7).randint(0, 5, size=(1, 3)).
  BootstrapOptions o;
  o.samples = 2;
  auto idx = bootstrap_indices(1000, o);
  REQUIRE(idx.size() == 2);
  REQUIRE(idx[0].size() == 1000);
  CHECK(std::vector<int64_t>(idx[0].begin(), idx[0].begin() + 5) == std::vector<int64_t>{482, 485, 285, 129, 420});
  o.samples = 1;
  CHECK(bootstrap_indices(8, o)[0].size() == 8);
  auto three = bootstrap_indices(3, o);  // n = 3: mask 3, the draw 3 is rejected
  CHECK(std::vector<int64_t>(three[0].begin(), three[0].begin() + 3) == std::vector<int64_t>{2, 1, 1});
  o.seed = 7;
  CHECK(bootstrap_indices(1, o)[0] == std::vector<int64_t>{0});
  o.samples = 0;
  CHECK_THROWS_AS(bootstrap_indices(10, o), std::invalid_argument);
  o.samples = 5;
  CHECK_THROWS_AS(bootstrap_indices(0, o), std::invalid_argument);
}

TEST_CASE("bootstrap interval is sacreBLEU's estimate_ci", "[metrics]") {
  std::vector<double> scores;
  for (int i = 0; i < 80; ++i) scores.push_back(static_cast<double>((i * 37) % 80));  // 0..79 shuffled
  const ScoreInterval ci = estimate_interval(scores);
  CHECK(ci.mean == Approx(39.5));
  // n = 80: lower index 2, upper index 77 of the sorted scores -> (77 - 2) / 2.
  CHECK(ci.half_width == Approx(37.5));
  CHECK_THROWS_AS(estimate_interval({}), std::invalid_argument);
}

TEST_CASE("paired bootstrap: identical systems give p = 1, a better system a small p, a seed fixed numbers",
          "[metrics]") {
  const Toy t = toy();
  const BleuOptions bleu = opts();
  const auto base = bleu_sentence_stats(t.bad, {t.refs}, bleu);
  const auto same = bleu_sentence_stats(t.bad, {t.refs}, bleu);
  const auto good = bleu_sentence_stats(t.good, {t.refs}, bleu);
  // The summed rows score like the corpus.
  CHECK(base.score_sum(base.total()) == corpus_bleu(t.bad, {t.refs}, bleu).score);
  CHECK(good.score_sum(good.total()) == Approx(100.0));

  BootstrapOptions o;
  o.samples = 200;
  const auto r = paired_bootstrap({base, same, good}, o);
  REQUIRE(r.size() == 3);
  CHECK(std::isnan(r[0].p_value));
  CHECK(r[1].p_value == 1.0);
  CHECK(r[1].mean == r[0].mean);
  CHECK(r[1].half_width == r[0].half_width);
  CHECK(r[2].p_value == Approx(1.0 / 201));
  CHECK(r[2].score == Approx(100.0));
  CHECK(r[0].half_width > 0);
  CHECK(r[0].mean == Approx(r[0].score).margin(3 * r[0].half_width));

  const auto again = paired_bootstrap({base, same, good}, o);
  CHECK(again[0].mean == r[0].mean);
  CHECK(again[2].p_value == r[2].p_value);
  o.seed = 99;
  const auto other = paired_bootstrap({base, same, good}, o);
  CHECK(other[0].mean != r[0].mean);

  // chrF through the same procedure.
  ChrfOptions chrf;
  const auto c = paired_bootstrap({chrf_sentence_stats(t.bad, {t.refs}, chrf), chrf_sentence_stats(t.bad, {t.refs}, chrf)}, o);
  CHECK(c[1].p_value == 1.0);
  CHECK(chrf_sentence_stats(t.bad, {t.refs}, chrf).metric == "chrF2");

  // Systems of different sizes are refused.
  const auto fewer = bleu_sentence_stats({t.bad[0]}, {{t.refs[0]}}, bleu);
  CHECK_THROWS_AS(paired_bootstrap({base, fewer}, o), std::invalid_argument);
}
