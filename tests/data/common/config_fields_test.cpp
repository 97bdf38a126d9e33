#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "data/common/config_fields.h"

using namespace seqzoo;

namespace {

struct Inner {
  int64_t count = 2;
  double rate = 0.5;
  void visit(FieldVisitor& v) {
    v.field("count", count, "how many", Range::at_least(1));
    v.field("rate", rate, "a probability", Range::probability());
  }
};

struct Outer {
  std::string name = "x";
  bool flag = false;
  Inner inner;
  void visit(FieldVisitor& v) {
    v.field("name", name, "a name", {"x", "y"});
    v.field("flag", flag, "a flag");
    v.section("inner", "the inner section", [&](FieldVisitor& s) { inner.visit(s); });
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}

}  // namespace

TEST_CASE("config fields: ranges are checked when parsed and on demand, with the full key", "[common]") {
  Outer o;
  const VisitFn visit = [&](FieldVisitor& v) { o.visit(v); };
  CHECK(parse_config_text("inner:\n  count: 5\n", "t.yaml", visit) == std::vector<std::string>{"inner", "inner.count"});
  CHECK(o.inner.count == 5);
  CHECK(error_of([&] { parse_config_text("inner:\n  count: 0\n", "t.yaml", visit); }) ==
        "t.yaml:2: inner.count: must be >= 1, got 0");
  CHECK(error_of([&] { parse_config_text("inner:\n  rate: 1\n", "t.yaml", visit); }) ==
        "t.yaml:2: inner.rate: must be in [0, 1), got 1.0");
  o.inner.count = -3;
  CHECK(error_of([&] { check_config_ranges(visit); }) == "inner.count: must be >= 1, got -3");
  CHECK(Range::positive().describe() == "> 0");
  CHECK(Range::any().describe().empty());
}

TEST_CASE("config fields: overrides, renamed keys, paths and dumps", "[common]") {
  Outer o;
  const VisitFn visit = [&](FieldVisitor& v) { o.visit(v); };
  CHECK(apply_config_override("inner.rate=0.25", visit) == "inner.rate");
  CHECK(o.inner.rate == 0.25);
  CHECK(error_of([&] { apply_config_override("inner.rat=0.1", visit); }) ==
        "--set inner.rat=0.1: inner.rat: unknown key; did you mean inner.rate?");
  CHECK(error_of([&] { apply_config_override("name=z", visit); }).find("--set name=z: name: 'z' is not one of x, y") == 0);
  // A key that moved: the old spelling still loads, into the new key (the emptied section goes too).
  CHECK(parse_config_text("old:\n  flag: true\n", "old.yaml", visit, {{"old.flag", "flag"}}) ==
        std::vector<std::string>{"flag"});
  CHECK(o.flag);
  CHECK(config_field_paths(visit) == std::vector<std::string>{"name", "flag", "inner.count", "inner.rate"});
  const std::string dumped = dump_config_fields(visit, true);
  CHECK(dumped.find("count: 2") != std::string::npos);
  CHECK(dumped.find("# how many (>= 1)") != std::string::npos);
  CHECK(dumped.find("[x | y]") != std::string::npos);
}
