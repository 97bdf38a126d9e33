#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "models/training/train_checkpoint.h"
#include "models/training/optim.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

namespace {

}  // namespace

TEST_CASE("training checkpoint round trip: model, optimizer, train state, RNG", "[training]") {
  TempDir dir("ckpt_roundtrip");
  torch::manual_seed(1);
  MockModel a(20, 8);
  auto params = unique_parameters(*a);
  TrainConfig tc;
  auto opt = make_optimizer(tc, params);
  // One optimizer step so that Adam has state.
  auto batch = make_test_batch({{4, 5, 6}}, {{6, 5, 4}});
  a->forward(batch).sum().backward();
  opt->step();
  TrainState st;
  st.step = 17;
  st.epoch = 3;
  st.batch_in_epoch = 5;
  st.has_best = true;
  st.best_metric = 12.5;
  st.best_step = 10;
  st.total_bad_steps = 2;
  st.lr_scale = 0.25;
  capture_rng_state(st, false);
  const std::string path = dir / "c.pt";
  save_train_checkpoint(path, *a, "mock", *opt, st);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  auto expected_draw = torch::rand({4});  // what the RNG gives after the saved state

  torch::manual_seed(99);
  MockModel b(20, 8);
  REQUIRE_FALSE(same_parameters(*a, *b));
  auto params_b = unique_parameters(*b);
  auto opt_b = make_optimizer(tc, params_b);
  TrainState loaded;
  CheckpointInfo info = load_train_checkpoint(path, *b, *opt_b, loaded, torch::kCPU, "mock");
  CHECK(info.family == "mock");
  CHECK(info.step == 17);
  CHECK(info.has_optimizer);
  CHECK(same_parameters(*a, *b));
  CHECK(loaded.step == 17);
  CHECK(loaded.epoch == 3);
  CHECK(loaded.batch_in_epoch == 5);
  CHECK(loaded.has_best);
  CHECK(loaded.best_metric == 12.5);
  CHECK(loaded.total_bad_steps == 2);
  CHECK(loaded.lr_scale == 0.25);
  restore_rng_state(loaded);
  CHECK(torch::equal(torch::rand({4}), expected_draw));
  // The Adam moments came back: the next step of both optimizers moves both models alike.
  opt->zero_grad();
  opt_b->zero_grad();
  a->forward(batch).sum().backward();
  b->forward(batch).sum().backward();
  opt->step();
  opt_b->step();
  CHECK(same_parameters(*a, *b));

  // Wrong family, wrong shapes, model-only checkpoint asked for optimizer state.
  CHECK_THROWS_WITH(load_checkpoint(path, *b, torch::kCPU, "transformer"),
                    Catch::Contains("holds a 'mock' model"));
  MockModel wider(20, 12);
  CHECK_THROWS_WITH(load_checkpoint(path, *wider), Catch::Contains("does not match the model") &&
                                                       Catch::Contains("src_emb.weight is [20,8] in the file"));
  save_checkpoint(dir / "model_only.pt", *a, "mock");
  CHECK_THROWS_WITH(load_train_checkpoint(dir / "model_only.pt", *b, *opt_b, loaded), Catch::Contains("no optimizer state"));
  CHECK_THROWS_WITH(load_checkpoint(dir / "missing.pt", *b), Catch::Contains("missing.pt not found"));
}

