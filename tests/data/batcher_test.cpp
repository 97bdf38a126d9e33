// Tests of token-budget batching and batch tensors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/batcher.h"

using namespace seqzoo;

namespace {
using Ids = std::vector<std::vector<int64_t>>;

// A synthetic tokenized corpus: lengths 1..max_len (ids >= 4), with `long_len`-token outliers.
TokenizedCorpus synthetic_corpus(int n, int max_len, uint64_t seed, int long_len = 0) {
  std::mt19937_64 rng(seed);
  TokenizedCorpus c;
  for (int i = 0; i < n; ++i) {
    const int ls = (i % 50 == 7 && long_len) ? long_len : 1 + static_cast<int>(rng() % max_len);
    const int lt = 1 + static_cast<int>(rng() % max_len);
    std::vector<int64_t> s(ls), t(lt);
    for (auto& x : s) x = 4 + static_cast<int64_t>(rng() % 100);
    for (auto& x : t) x = 4 + static_cast<int64_t>(rng() % 100);
    c.src.push_back(std::move(s));
    c.tgt.push_back(std::move(t));
    c.index.push_back(1000 + i);  // raw positions differ from corpus positions
  }
  return c;
}

// A [2,2] int64 tensor from row-major values.
torch::Tensor matrix2x2(std::vector<int64_t> v) {
  return torch::tensor(at::ArrayRef<int64_t>(v)).view({2, 2});
}

int64_t padded_cost(const TokenizedCorpus& c, const std::vector<int64_t>& batch) {
  int64_t w = 0;
  for (const int64_t p : batch) {
    w = std::max<int64_t>(w, static_cast<int64_t>(c.src[p].size()));
    w = std::max<int64_t>(w, static_cast<int64_t>(c.tgt[p].size()) + 1);
  }
  return w * static_cast<int64_t>(batch.size());
}

std::vector<int64_t> flatten(const BatchPlan& plan) {
  std::vector<int64_t> all;
  for (const auto& b : plan.batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}
}  // namespace

TEST_CASE("plan_batches respects the token budget and covers every sentence once", "[data]") {
  const int64_t budget = 256;
  const auto c = synthetic_corpus(1000, 60, 1, /*long_len=*/400);
  for (const int64_t max_sentences : {int64_t{0}, int64_t{7}}) {
    const auto plan = plan_batches(c, budget, max_sentences, true, 42);
    int lone_long = 0;
    for (const auto& b : plan.batches) {
      REQUIRE(!b.empty());
      if (padded_cost(c, b) > budget) {
        CHECK(b.size() == 1);  // only a sentence longer than the budget on its own
        CHECK(c.src[b[0]].size() == 400);
        ++lone_long;
      }
      if (max_sentences > 0) CHECK(static_cast<int64_t>(b.size()) <= max_sentences);
    }
    CHECK(lone_long == 20);
    auto all = flatten(plan);
    std::sort(all.begin(), all.end());
    std::vector<int64_t> expected(c.size());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int64_t>(i);
    CHECK(all == expected);
  }
}

TEST_CASE("plan_batches buckets by length so batches carry little padding", "[data]") {
  const auto c = synthetic_corpus(2000, 40, 2);
  const auto plan = plan_batches(c, 1024, 0, true, 1);
  int64_t real = 0, cells = 0;
  for (const auto& b : plan.batches) {
    int64_t s_max = 0;
    for (const int64_t p : b) {
      s_max = std::max<int64_t>(s_max, static_cast<int64_t>(c.src[p].size()));
      real += static_cast<int64_t>(c.src[p].size());
    }
    cells += s_max * static_cast<int64_t>(b.size());
  }
  // Sorted by source length first: source padding stays small (random order gives ~50%).
  CHECK(static_cast<double>(cells - real) / static_cast<double>(cells) < 0.05);
  // Greedy cutting fills batches: far fewer batches than sentences.
  CHECK(plan.batches.size() < c.size() / 10);
}

TEST_CASE("plan_batches is a function of the seed", "[data]") {
  const auto c = synthetic_corpus(500, 30, 3);
  const auto a = plan_batches(c, 300, 0, true, 7);
  const auto b = plan_batches(c, 300, 0, true, 7);
  const auto other = plan_batches(c, 300, 0, true, 8);
  CHECK(a.batches == b.batches);
  CHECK(a.batches != other.batches);
  CHECK(flatten(a) != flatten(other));
  // Without shuffling: sorted order, identical for any seed, lengths non-decreasing.
  const auto s1 = plan_batches(c, 300, 0, false, 7);
  const auto s2 = plan_batches(c, 300, 0, false, 99);
  CHECK(s1.batches == s2.batches);
  const auto order = flatten(s1);
  for (size_t i = 1; i < order.size(); ++i) {
    CHECK(c.src[order[i - 1]].size() <= c.src[order[i]].size());
  }
  CHECK_THROWS_AS(plan_batches(c, 0, 0, true, 1), std::invalid_argument);
  CHECK(plan_batches(TokenizedCorpus{}, 100, 0, true, 1).batches.empty());
}

TEST_CASE("make_batch pads, shifts bos/eos and matches the lengths", "[data]") {
  const auto c = synthetic_corpus(300, 25, 4);
  const auto plan = plan_batches(c, 200, 0, true, 5);
  for (size_t bi = 0; bi < plan.batches.size(); bi += 3) {
    const auto& positions = plan.batches[bi];
    const Batch batch = make_batch(c, positions);
    const int64_t b = static_cast<int64_t>(positions.size());
    REQUIRE(batch.size() == b);
    CHECK(batch.src.scalar_type() == torch::kInt64);
    CHECK(batch.tgt_in.scalar_type() == torch::kInt64);
    CHECK(batch.tgt_in.sizes() == batch.tgt_out.sizes());
    // Masks agree with lengths.
    const auto s_range = torch::arange(batch.src.size(1)).unsqueeze(0);
    CHECK(torch::equal(batch.src_mask(), s_range < batch.src_len.unsqueeze(1)));
    const auto t_range = torch::arange(batch.tgt_out.size(1)).unsqueeze(0);
    CHECK(torch::equal(batch.tgt_mask(), t_range < batch.tgt_len.unsqueeze(1)));
    CHECK(batch.src.size(1) == batch.src_len.max().item<int64_t>());
    CHECK(batch.tgt_out.size(1) == batch.tgt_len.max().item<int64_t>());
    CHECK(batch.src_tokens == batch.src_len.sum().item<int64_t>());
    CHECK(batch.tgt_tokens == batch.tgt_len.sum().item<int64_t>());
    for (int64_t i = 0; i < b; ++i) {
      const auto& x = c.src[positions[i]];
      const auto& y = c.tgt[positions[i]];
      const int64_t n = static_cast<int64_t>(y.size());
      CHECK(batch.ids[i] == c.index[positions[i]]);
      CHECK(batch.src_len[i].item<int64_t>() == static_cast<int64_t>(x.size()));
      CHECK(batch.tgt_len[i].item<int64_t>() == n + 1);
      const auto src_row = batch.src[i].slice(0, 0, static_cast<int64_t>(x.size()));
      CHECK(std::vector<int64_t>(src_row.data_ptr<int64_t>(), src_row.data_ptr<int64_t>() + x.size()) == x);
      CHECK(batch.tgt_in[i][0].item<int64_t>() == kBosId);
      CHECK(batch.tgt_out[i][n].item<int64_t>() == kEosId);
      // tgt_in[1:] == tgt_out[:-1] over the real tokens: the shift by one.
      CHECK(torch::equal(batch.tgt_in[i].slice(0, 1, n + 1), batch.tgt_out[i].slice(0, 0, n)));
      const auto y_row = batch.tgt_out[i].slice(0, 0, n).contiguous();
      CHECK(std::vector<int64_t>(y_row.data_ptr<int64_t>(), y_row.data_ptr<int64_t>() + n) == y);
    }
  }
}

TEST_CASE("make_batch from id lists: source only and empty sources", "[data]") {
  const Batch only_src = make_batch(Ids{{5, 6, 7}, {8}}, Ids{});
  CHECK(only_src.size() == 2);
  CHECK_FALSE(only_src.tgt_in.defined());
  CHECK(torch::equal(only_src.src, torch::tensor({5, 6, 7, 8, 0, 0}, torch::kInt64).view({2, 3})));
  CHECK(only_src.ids == std::vector<int64_t>{0, 1});
  CHECK(only_src.src_tokens == 4);

  // An empty source is fed as a lone eos, keeping src_len >= 1 and the mask consistent.
  const Batch with_empty = make_batch(Ids{{}, {9, 10}}, Ids{{11}, {}});
  CHECK(torch::equal(with_empty.src, matrix2x2({kEosId, 0, 9, 10})));
  CHECK(torch::equal(with_empty.src_len, torch::tensor({1, 2}, torch::kInt64)));
  CHECK(torch::equal(with_empty.tgt_in, matrix2x2({kBosId, 11, kBosId, 0})));
  CHECK(torch::equal(with_empty.tgt_out, matrix2x2({11, kEosId, kEosId, 0})));
  CHECK(torch::equal(with_empty.tgt_len, torch::tensor({2, 1}, torch::kInt64)));

  CHECK_THROWS_AS(make_batch(Ids{{5}}, Ids{{6}, {7}}), std::invalid_argument);
  CHECK_THROWS_AS(make_batch(Ids{}, Ids{}), std::invalid_argument);
  TokenizedCorpus c;
  c.src = {{4}};
  CHECK_THROWS_AS(make_batch(c, {1}), std::invalid_argument);
}

TEST_CASE("corpus_statistics summarises a corpus and its batches", "[data]") {
  TokenizedCorpus c;
  for (int i = 0; i < 6; ++i) {
    c.src.push_back(std::vector<int64_t>(4, 5));
    c.tgt.push_back(std::vector<int64_t>(3, 6));
    c.index.push_back(i);
  }
  c.skipped_empty = 2;
  c.skipped_length = 1;
  const auto plan = plan_batches(c, 8, 0, false, 1);  // width 4 -> 2 sentences per batch
  REQUIRE(plan.batches.size() == 3);
  const std::string s = corpus_statistics(c, plan);
  CHECK_THAT(s, Catch::Contains("sentences: 6") && Catch::Contains("2 with an empty side") &&
                    Catch::Contains("1 outside the length limits"));
  CHECK_THAT(s, Catch::Contains("source tokens: 24 (mean length 4.00, max 4)"));
  CHECK_THAT(s, Catch::Contains("target tokens: 18 (mean length 3.00, max 3)"));
  CHECK_THAT(s, Catch::Contains("batches: 3 (mean 2.0 sentences"));
  CHECK_THAT(s, Catch::Contains("padding: source 0.0%, target 0.0%"));
  // One long target in a batch of short ones: 2 sentences, widths 4 and 8 -> (8-4)/16 padding.
  c.tgt[1] = std::vector<int64_t>(7, 6);
  BatchPlan manual;
  manual.batches = {{0, 1}};
  CHECK_THAT(corpus_statistics(c, manual), Catch::Contains("target 25.0%"));
}
