#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "tools/app/curves.h"

using namespace seqzoo;

TEST_CASE("curves.svg: a self-contained SVG with the title escaped and both panels", "[run]") {
  MetricsRow r;
  r.step = 12;
  r.epoch = 2;
  r.kind = "valid";
  r.valid_loss = 3.5;
  r.valid_bleu = 21.25;
  r.elapsed = 7.5;
  std::string svg = render_curves_svg({r}, "t<1>");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("t&lt;1&gt;") != std::string::npos);
  CHECK(svg.find("valid BLEU") != std::string::npos);
}
