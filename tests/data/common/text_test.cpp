#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "data/common/text.h"

using namespace seqzoo;

TEST_CASE("text helpers: durations, numbers, one-line messages, XML escapes", "[common]") {
  CHECK(format_duration(45) == "45s");
  CHECK(format_duration(723) == "12m03s");
  CHECK(format_duration(3 * 3600 + 7 * 60 + 12) == "3h07m12s");
  CHECK(format_duration(-3) == "0s");
  CHECK(format_number(0.00041, 2) == "0.00041");
  CHECK(one_line("first\nsecond\r\n") == "first second");
  CHECK(xml_escape("a<b & \"c\">") == "a&lt;b &amp; &quot;c&quot;&gt;");
}
