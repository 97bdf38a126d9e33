#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "models/training/checkpoint.h"
#include "models/training/optim.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

namespace {

bool same_parameters(const torch::nn::Module& a, const torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace

TEST_CASE("checkpoint round trip: model, optimizer, train state, RNG", "[training]") {
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
  save_checkpoint(path, *a, "mock", opt.get(), &st);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  auto expected_draw = torch::rand({4});  // what the RNG gives after the saved state

  torch::manual_seed(99);
  MockModel b(20, 8);
  REQUIRE_FALSE(same_parameters(*a, *b));
  auto params_b = unique_parameters(*b);
  auto opt_b = make_optimizer(tc, params_b);
  TrainState loaded;
  CheckpointInfo info = load_checkpoint(path, *b, opt_b.get(), &loaded, torch::kCPU, "mock");
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
  CHECK_THROWS_WITH(load_checkpoint(path, *b, nullptr, nullptr, torch::kCPU, "transformer"),
                    Catch::Contains("holds a 'mock' model"));
  MockModel wider(20, 12);
  CHECK_THROWS_WITH(load_checkpoint(path, *wider), Catch::Contains("does not match the model") &&
                                                       Catch::Contains("src_emb.weight is [20,8] in the file"));
  save_checkpoint(dir / "model_only.pt", *a, "mock");
  CHECK_THROWS_WITH(load_checkpoint(dir / "model_only.pt", *b, opt_b.get()), Catch::Contains("no optimizer state"));
  CHECK_THROWS_WITH(load_checkpoint(dir / "missing.pt", *b), Catch::Contains("missing.pt not found"));
}

TEST_CASE("a truncated or altered checkpoint is reported as corrupt", "[training]") {
  TempDir dir("ckpt_corrupt");
  torch::manual_seed(2);
  MockModel m(20, 8);
  {
    torch::NoGradGuard g;
    m->out->weight.fill_(1.2345f);  // a recognisable byte pattern in the file
  }
  const std::string path = dir / "c.pt";
  save_checkpoint(path, *m, "mock");
  const std::string bytes = read_file(path);
  REQUIRE(bytes.size() > 1000);

  SECTION("truncated") {
    for (size_t keep : {bytes.size() / 2, bytes.size() - 10, size_t(100), size_t(0)}) {
      write_file(path, bytes.substr(0, keep));
      CHECK_THROWS_WITH(load_checkpoint(path, *m), Catch::StartsWith("checkpoint " + path + " is corrupt or truncated: "));
    }
  }
  SECTION("one bit of a weight flipped") {
    float v = 1.2345f;
    std::string pattern(reinterpret_cast<const char*>(&v), sizeof v);
    size_t at = bytes.find(pattern + pattern);
    REQUIRE(at != std::string::npos);
    std::string altered = bytes;
    altered[at] = static_cast<char>(altered[at] ^ 0x01);
    write_file(path, altered);
    CHECK_THROWS_WITH(load_checkpoint(path, *m), Catch::Contains("is corrupt or truncated"));
  }
  SECTION("not a checkpoint") {
    write_file(path, "hello");
    CHECK_THROWS_WITH(load_checkpoint(path, *m), Catch::Contains("is corrupt or truncated"));
  }
}

TEST_CASE("a failed checkpoint write leaves the previous file intact and no partial file", "[training]") {
  TempDir dir("ckpt_atomic");
  torch::manual_seed(3);
  MockModel small(20, 8), big(2000, 64);
  const std::string path = dir / "c.pt";
  save_checkpoint(path, *small, "mock");
  const std::string before = read_file(path);

  // A file-size limit makes the write fail halfway (EFBIG) for the big model.
  struct rlimit old_limit;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  bool threw = false;
  std::string message;
  try {
    save_checkpoint(path, *big, "mock");
  } catch (const std::runtime_error& e) {
    threw = true;
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  CHECK(threw);
  CHECK_THAT(message, Catch::Contains("cannot write checkpoint " + path));
  CHECK(read_file(path) == before);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  MockModel again(20, 8);
  CHECK_NOTHROW(load_checkpoint(path, *again));
  CHECK(same_parameters(*small, *again));
}

TEST_CASE("checkpoint averaging is the mean of the parameters", "[training]") {
  TempDir dir("ckpt_avg");
  torch::manual_seed(4);
  MockModel a(20, 8), b(20, 8), avg(20, 8);
  save_checkpoint(dir / "a.pt", *a, "mock");
  save_checkpoint(dir / "b.pt", *b, "mock");
  average_checkpoints({dir / "a.pt", dir / "b.pt"}, dir / "avg.pt");
  load_checkpoint(dir / "avg.pt", *avg, nullptr, nullptr, torch::kCPU, "mock");
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : avg->named_parameters())
    CHECK(torch::allclose(p.value(), (pa[p.key()] + pb[p.key()]) / 2, 1e-6, 1e-6));
  MockModel other(20, 12);
  save_checkpoint(dir / "o.pt", *other, "mock");
  CHECK_THROWS_AS(average_checkpoints({dir / "a.pt", dir / "o.pt"}, dir / "bad.pt"), std::invalid_argument);
  CHECK_FALSE(fs::exists(dir / "bad.pt"));
}

TEST_CASE("run directory checkpoints: names, step files in order, averaging the last K", "[training]") {
  TempDir dir("ckpt_run");
  const std::string ck = dir / "checkpoints";
  CHECK(resolve_checkpoint(dir.str(), "best") == (fs::path(ck) / "best.pt").string());
  CHECK(resolve_checkpoint(dir.str(), "last") == (fs::path(ck) / "last.pt").string());
  CHECK(resolve_checkpoint(dir.str(), "/x/y.pt") == "/x/y.pt");
  torch::manual_seed(5);
  std::vector<MockModel> models;
  for (int step : {100, 20, 3}) {
    models.emplace_back(20, 8);
    save_checkpoint((fs::path(ck) / ("step-" + std::to_string(step) + ".pt")).string(), *models.back(), "mock");
  }
  save_checkpoint((fs::path(ck) / "step-x.pt").string(), *models[0], "mock");  // not a step file
  auto steps = step_checkpoints(dir.str());
  REQUIRE(steps.size() == 3);
  CHECK(fs::path(steps[0]).filename() == "step-3.pt");
  CHECK(fs::path(steps[2]).filename() == "step-100.pt");
  const std::string avg = average_run_checkpoints(dir.str(), 2);  // step-20 and step-100
  CHECK(avg == (fs::path(ck) / "averaged.pt").string());
  MockModel m(20, 8);
  load_checkpoint(resolve_checkpoint(dir.str(), "averaged"), *m);
  CHECK(torch::allclose(m->out->weight, (models[0]->out->weight + models[1]->out->weight) / 2, 1e-6, 1e-6));
  CHECK_THROWS_WITH(average_run_checkpoints(dir.str(), 4), Catch::Contains("has 3 step-N.pt files"));
}
