// DecoderState: hypothesis entries follow the beam row by row; source entries (one row per
// sentence) are never expanded and only move when sentences leave.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <stdexcept>

#include "models/core/decoder_state.h"

using namespace seqzoo;

namespace {

torch::Tensor ids(std::initializer_list<int64_t> v) { return torch::tensor(std::vector<int64_t>(v)); }

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.equal(b);
}

}  // namespace

TEST_CASE("decoder state: source entries stay per sentence through expansion and reorder",
          "[models][core]") {
  DecoderState s;
  s.set("h", ids({10, 20, 30}).unsqueeze(1));     // hypothesis entry [3,1]
  s.set_source("mem", ids({1, 2, 3}).unsqueeze(1));  // source entry [3,1]
  CHECK(s.is_source("mem"));
  CHECK_FALSE(s.is_source("h"));
  CHECK(s.beam() == 1);
  CHECK(s.batch_size() == 3);

  s.repeat_interleave(2);
  CHECK(s.beam() == 2);
  CHECK(s.batch_size() == 6);
  CHECK(same(s.at("h").squeeze(1), ids({10, 10, 20, 20, 30, 30})));
  CHECK(same(s.at("mem").squeeze(1), ids({1, 2, 3})));  // not expanded

  SECTION("reorder within sentences leaves source entries alone") {
    s.reorder(ids({1, 0, 3, 3, 4, 5}), torch::Tensor());
    CHECK(same(s.at("h").squeeze(1), ids({10, 10, 20, 20, 30, 30})));
    CHECK(same(s.at("mem").squeeze(1), ids({1, 2, 3})));
  }
  SECTION("reorder dropping a sentence selects its source rows") {
    s.set("h", ids({10, 11, 20, 21, 30, 31}).unsqueeze(1));
    s.reorder(ids({1, 1, 5, 4}), ids({0, 2}));
    CHECK(same(s.at("h").squeeze(1), ids({11, 11, 31, 30})));
    CHECK(same(s.at("mem").squeeze(1), ids({1, 3})));
    CHECK(s.batch_size() == 4);
    CHECK_THROWS_AS(s.reorder(ids({0, 1, 2}), ids({0})), std::invalid_argument);
  }
  SECTION("index_select needs rows that are sentences") {
    CHECK_THROWS_AS(s.index_select(ids({0, 1})), std::logic_error);
  }
  SECTION("set() turns a source entry into a hypothesis entry") {
    s.set("mem", ids({1, 1, 2, 2, 3, 3}).unsqueeze(1));
    CHECK_FALSE(s.is_source("mem"));
    s.reorder(ids({5, 4, 3, 2, 1, 0}), torch::Tensor());
    CHECK(same(s.at("mem").squeeze(1), ids({3, 3, 2, 2, 1, 1})));
  }
}

TEST_CASE("decoder state: index_select on an unexpanded state moves every entry",
          "[models][core]") {
  DecoderState s;
  s.set("h", ids({10, 20, 30}));
  s.set_source("mem", ids({1, 2, 3}));
  s.index_select(ids({2, 0, 0}));
  CHECK(same(s.at("h"), ids({30, 10, 10})));
  CHECK(same(s.at("mem"), ids({3, 1, 1})));
  CHECK(s.beam() == 1);
  // Without source entries any row selection is allowed, even after expansion.
  DecoderState r;
  r.set("h", ids({10, 20}));
  r.repeat_interleave(2);
  r.index_select(ids({3, 0, 1}));
  CHECK(same(r.at("h"), ids({20, 10, 10})));
  CHECK(r.beam() == 1);
  CHECK_THROWS_AS(r.repeat_interleave(0), std::invalid_argument);
}

TEST_CASE("decoder state: extract and absorb move a part's entries under a prefix", "[decoder_state]") {
  DecoderState s;
  s.set("m0/h", torch::arange(4).view({2, 2}));
  s.set_source("m0/mask", torch::ones({2, 3}));
  s.set("m1/h", torch::zeros({2, 5}));
  s.repeat_interleave(2);
  s.step = 3;
  DecoderState part = s.extract("m0/");
  CHECK(part.beam() == 2);
  CHECK(part.step == 3);
  CHECK(part.contains("h"));
  CHECK(part.is_source("mask"));
  CHECK(part.at("h").size(0) == 4);
  CHECK_FALSE(s.contains("m0/h"));
  CHECK(s.contains("m1/h"));
  part.set("attention", torch::ones({4, 3}));
  part.step = 4;
  s.absorb("m0/", std::move(part));
  CHECK(s.step == 4);
  CHECK(s.is_source("m0/mask"));
  CHECK_FALSE(s.is_source("m0/attention"));
  CHECK(s.at("m0/h").equal(torch::arange(4).view({2, 2}).repeat_interleave(2, 0)));
  CHECK(s.batch_size() == 4);
}
