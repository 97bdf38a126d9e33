#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "models/checkpoint/checkpoint.h"
#include "tests/models/training/mock_model.h"
#include "tools/app/run_directory.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

TEST_CASE("run directory checkpoints: names, step files in order, averaging the last K", "[run]") {
  TempDir dir("ckpt_run");
  const std::string ck = dir / "checkpoints";
  const RunDirectory run(dir.str());
  CHECK(run.checkpoint("best") == (fs::path(ck) / "best.pt").string());
  CHECK(run.checkpoint("last") == (fs::path(ck) / "last.pt").string());
  CHECK(run.checkpoint("/x/y.pt") == "/x/y.pt");
  torch::manual_seed(5);
  std::vector<MockModel> models;
  for (int step : {100, 20, 3}) {
    models.emplace_back(20, 8);
    save_checkpoint((fs::path(ck) / ("step-" + std::to_string(step) + ".pt")).string(), *models.back(), "mock");
  }
  save_checkpoint((fs::path(ck) / "step-x.pt").string(), *models[0], "mock");  // not a step file
  auto steps = run.step_checkpoints();
  REQUIRE(steps.size() == 3);
  CHECK(fs::path(steps[0]).filename() == "step-3.pt");
  CHECK(fs::path(steps[2]).filename() == "step-100.pt");
  const std::string avg = run.average_checkpoints(2);  // step-20 and step-100
  CHECK(avg == (fs::path(ck) / "averaged.pt").string());
  MockModel m(20, 8);
  load_checkpoint(run.checkpoint("averaged"), *m);
  CHECK(torch::allclose(m->out->weight, (models[0]->out->weight + models[1]->out->weight) / 2, 1e-6, 1e-6));
  CHECK_THROWS_WITH(run.average_checkpoints(4), Catch::Contains("has 3 step-N.pt files"));
}


TEST_CASE("run directory lock: one writer at a time, the holder named, released with it", "[run]") {
  TempDir dir("run_lock");
  const RunDirectory run(dir.str());
  {
    const RunLock held = run.lock();
    CHECK_THROWS_WITH(run.lock(), Catch::Contains("is in use by another seqzoo process (pid " +
                                                  std::to_string(::getpid()) + ")"));
  }
  CHECK_NOTHROW(run.lock());  // released when its holder goes
}

TEST_CASE("a published checkpoint is an independent copy: damage to the step file spares last.pt", "[run]") {
  TempDir dir("run_copies");
  const RunDirectory run(dir.str());
  torch::manual_seed(6);
  MockModel m(20, 8);
  const std::string step = run.step_checkpoint(7);
  save_checkpoint(step, *m, "mock");
  run.publish_checkpoint(step, /*keep_last=*/3);
  CHECK(fs::hard_link_count(run.checkpoint("last")) == 1);
  CHECK_FALSE(run.has_checkpoint("best"));  // the reporter writes best.pt itself
  { std::ofstream(step, std::ios::binary | std::ios::trunc) << "damaged"; }
  MockModel again(20, 8);
  CHECK_NOTHROW(load_checkpoint(run.checkpoint("last"), *again));
  CHECK_THROWS_WITH(load_checkpoint(step, *again), Catch::Contains("corrupt"));
}
