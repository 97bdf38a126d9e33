#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "models/training/metrics.h"

using namespace seqzoo;

TEST_CASE("metrics rows: the tab-separated form round-trips, empty fields are NaN", "[training]") {
  MetricsRow r;
  r.step = 12;
  r.epoch = 2;
  r.kind = "valid";
  r.valid_loss = 3.5;
  r.valid_bleu = 21.25;
  r.elapsed = 7.5;
  auto rows = parse_metrics(metrics_header() + "\n" + metrics_line(r) + "\n");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].step == 12);
  CHECK(rows[0].kind == "valid");
  CHECK(rows[0].valid_bleu == Approx(21.25));
  CHECK(std::isnan(rows[0].loss));
  CHECK(parse_metrics(metrics_header() + "\nnot a row\n").empty());
}
