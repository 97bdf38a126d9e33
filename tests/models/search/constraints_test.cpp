// The decoding controls (models/search/constraints.h): on a scores tensor, then through beam search
// and sampling with every family: no output repeats an n-gram, none is shorter than the minimum,
// a forced prefix starts every output, <unk> never appears.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "models/search/constraints.h"
#include "models/search/search.h"
#include "tests/models/core/family_models.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

constexpr int64_t kVocab = 9;  // few tokens: a random model repeats itself unless prevented

bool repeats_ngram(const std::vector<int64_t>& t, size_t n) {
  std::set<std::vector<int64_t>> seen;
  for (size_t i = 0; i + n <= t.size(); ++i)
    if (!seen.insert(std::vector<int64_t>(t.begin() + i, t.begin() + i + n)).second) return true;
  return false;
}

}  // namespace

TEST_CASE("constraints: repeated n-gram bans", "[search][constraints]") {
  CHECK(repeated_ngram_bans({4, 5, 6, 4, 5}, 3) == std::vector<int64_t>{6});  // "4 5" was followed by 6
  CHECK(repeated_ngram_bans({4, 5, 4, 5, 4}, 2) == std::vector<int64_t>{5, 5});
  CHECK(repeated_ngram_bans({4, 5, 6}, 1) == std::vector<int64_t>{4, 5, 6});
  CHECK(repeated_ngram_bans({4}, 3).empty());
  CHECK(repeated_ngram_bans({}, 2).empty());
}

TEST_CASE("constraints: constrain_step bans, forces and leaves dead rows alone", "[search][constraints]") {
  SearchOptions o;
  o.suppress_unk = true;
  o.no_repeat_ngram = 2;
  std::vector<SentenceLimits> limits(2);
  limits[0] = sentence_limits(o, 3);                 // max 1.5 * 3 + 10 = 14
  limits[0].min_len = 2;
  limits[1] = sentence_limits(o, 1, {7, 8, 7});      // a prefix of 3 tokens
  torch::Tensor scores = torch::full({4, kVocab}, -1.0f);
  const std::vector<int64_t> h0{4, 5, 4}, h1{7};
  constrain_step(scores, 1, {&h0, &h1, nullptr, &h0}, {0, 1, 1, 0}, limits, o);
  auto inf = [&](int64_t r, int64_t v) { return std::isinf(scores[r][v].item<float>()); };
  // Row 0: pad, bos, unk, eos (t=1 < min 2) and 5 (after "4": "4 5" seen) banned.
  for (int64_t v : {kPadId, kBosId, kUnkId, kEosId, int64_t{5}}) CHECK(inf(0, v));
  for (int64_t v : {int64_t{4}, int64_t{6}, int64_t{7}, int64_t{8}}) CHECK_FALSE(inf(0, v));
  // Row 1: prefix[1] = 8 forced, keeping its score.
  for (int64_t v = 0; v < kVocab; ++v) CHECK(inf(1, v) == (v != 8));
  CHECK(scores[1][8].item<float>() == -1.0f);
  // Row 2: dead (nullptr): only pad and bos.
  CHECK_FALSE(inf(2, kEosId));
  CHECK_FALSE(inf(2, kUnkId));
  // At the max length only eos is left.
  torch::Tensor last = torch::full({1, kVocab}, -1.0f);
  constrain_step(last, limits[0].max_len, {&h0}, {0}, limits, o);
  for (int64_t v = 0; v < kVocab; ++v) CHECK(std::isinf(last[0][v].item<float>()) == (v != kEosId));
  // The prefix raises the max length so that it fits.
  CHECK(sentence_limits(o, 1, std::vector<int64_t>(20, 4)).max_len == 20);
}

TEST_CASE("constraints hold through beam search and sampling, every family", "[search][constraints]") {
  const auto srcs = random_sources(6, kVocab, 1, 6, 8);
  for (const auto& model : tiny_family_models(kVocab, 5)) {
    INFO(model->family());
    for (bool sampling : {false, true}) {
      INFO("sampling " << sampling);
      SearchOptions o;
      o.sampling = sampling;
      o.beam_size = 3;
      o.nbest = sampling ? 4 : 2;
      o.max_len_a = 0;
      o.max_len_b = 12;
      o.no_repeat_ngram = 2;
      o.suppress_unk = true;
      o.min_len_b = 3;
      std::vector<SearchInput> in(srcs.size());
      for (size_t i = 0; i < srcs.size(); ++i) {
        in[i].src = srcs[i];
        in[i].id = static_cast<int64_t>(i);
        if (i % 2 == 0) in[i].prefix = {6, 7};
      }
      const auto results = search_all(*model, in, o, 1000, torch::kCPU);
      for (size_t i = 0; i < srcs.size(); ++i) {
        REQUIRE_FALSE(results[i].empty());
        for (const auto& h : results[i]) {
          INFO("sentence " << i);
          CHECK_FALSE(repeats_ngram(h.tokens, 2));
          CHECK(h.tokens.size() >= 3);
          CHECK(h.tokens.size() <= 12);
          CHECK(std::find(h.tokens.begin(), h.tokens.end(), kUnkId) == h.tokens.end());
          if (i % 2 == 0) {
            REQUIRE(h.tokens.size() >= 2);
            CHECK(h.tokens[0] == 6);
            CHECK(h.tokens[1] == 7);
          }
        }
      }
    }
  }
}
