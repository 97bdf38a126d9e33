#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "tools/app/curves.h"

using namespace seqzoo;

TEST_CASE("curves.svg: a self-contained SVG with the title escaped and both panels", "[run]") {
  std::vector<MetricsRow> rows;
  for (int64_t step = 10; step <= 40; step += 10) {
    MetricsRow train;
    train.step = step;
    train.loss = 5.0 - 0.1 * static_cast<double>(step) / 10;
    rows.push_back(train);
    if (step % 20 == 0) {
      MetricsRow valid = train;
      valid.kind = "valid";
      valid.loss = MetricsRow::kNone;
      valid.valid_loss = train.loss + 0.2;
      valid.valid_bleu = static_cast<double>(step) / 2;
      rows.push_back(valid);
    }
  }
  const std::string svg = render_curves_svg(rows, "t<1>");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("t&lt;1&gt;") != std::string::npos);
  CHECK(svg.find("valid BLEU") != std::string::npos);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(render_curves_svg({}, "empty").find("</svg>") != std::string::npos);  // no rows yet: still a document
}
