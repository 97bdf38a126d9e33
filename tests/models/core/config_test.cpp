#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "models/core/config.h"

using namespace seqzoo;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}
const std::string kMinimal = "model:\n  family: transformer\n";
}  // namespace

TEST_CASE("config: defaults, typed values and sections", "[config]") {
  Config c = parse_config(
      "model:\n  family: attention\n  attention:\n    type: general\n"
      "train:\n  lr: 0.002\n  max_steps: 250\n  valid_bleu: false\n",
      "inline.yaml");
  CHECK(c.model.family == "attention");
  CHECK(c.model.attention.type == "general");
  CHECK(c.train.lr == Approx(0.002));
  CHECK(c.train.max_steps == 250);
  CHECK_FALSE(c.train.valid_bleu);
  CHECK(c.data.batch_tokens == DataConfig().batch_tokens);  // untouched default
}

TEST_CASE("config: unknown keys are rejected with their full path and a suggestion", "[config]") {
  auto msg = error_of([] { parse_config(kMinimal + "train:\n  lr_schedul: constant\n", "a.yaml"); });
  CHECK(msg.find("a.yaml:4: train.lr_schedul: unknown key; did you mean lr_schedule?") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "  transformer:\n    d_modle: 64\n", "b.yaml"); });
  CHECK(msg.find("model.transformer.d_modle: unknown key; did you mean d_model?") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "bogus: 1\n", "c.yaml"); });
  CHECK(msg.find("bogus: unknown key") != std::string::npos);
}

TEST_CASE("config: type errors name the key and the expected type", "[config]") {
  auto msg = error_of([] { parse_config(kMinimal + "train:\n  max_steps: lots\n", "t.yaml"); });
  CHECK(msg.find("t.yaml:4: train.max_steps: expected an integer, got 'lots'") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "train:\n  lr: [1, 2]\n", "t.yaml"); });
  CHECK(msg.find("train.lr: expected a number, got 'a list'") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "train:\n  valid_bleu: maybe\n", "t.yaml"); });
  CHECK(msg.find("train.valid_bleu: expected a boolean") != std::string::npos);
  msg = error_of([] { parse_config("model:\n  family: transfomer\n", "t.yaml"); });
  CHECK(msg.find("model.family: 'transfomer' is not one of seq2seq, attention, transformer; did you mean transformer?") !=
        std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "train: 3\n", "t.yaml"); });
  CHECK(msg.find("train: expected a mapping") != std::string::npos);
}

TEST_CASE("config: missing required key, malformed YAML, cross-field checks", "[config]") {
  auto msg = error_of([] { parse_config("train:\n  lr: 0.1\n", "r.yaml"); });
  CHECK(msg.find("r.yaml: model.family: missing required key") != std::string::npos);
  msg = error_of([] { parse_config("model: {family: transformer\n", "m.yaml"); });
  CHECK(msg.find("m.yaml:") == 0);
  CHECK(msg.find("malformed YAML") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "  transformer:\n    d_model: 30\n    heads: 4\n", "x.yaml"); });
  CHECK(msg.find("model.transformer.heads: must divide d_model") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal + "train:\n  lr: -1\n", "x.yaml"); });
  CHECK(msg.find("train.lr: must be > 0") != std::string::npos);
  CHECK_THROWS_AS(load_config("/nonexistent/seqzoo.yaml"), std::runtime_error);
}

TEST_CASE("config: --set overrides, including unknown ones", "[config]") {
  Config c = parse_config(kMinimal, "o.yaml", {"train.max_steps=100", "model.transformer.pre_norm=false",
                                               "search.beam_size=3", "data.src_lang=en"});
  CHECK(c.train.max_steps == 100);
  CHECK_FALSE(c.model.transformer.pre_norm);
  CHECK(c.search.beam_size == 3);
  CHECK(c.data.src_lang == "en");
  auto msg = error_of([] { parse_config(kMinimal, "o.yaml", {"train.lr_schedul=constant"}); });
  CHECK(msg.find("--set train.lr_schedul=constant: train.lr_schedul: unknown key; did you mean train.lr_schedule?") !=
        std::string::npos);
  msg = error_of([] { parse_config(kMinimal, "o.yaml", {"train.max_steps"}); });
  CHECK(msg.find("expected key=value") != std::string::npos);
  msg = error_of([] { parse_config(kMinimal, "o.yaml", {"train.max_steps=ten"}); });
  CHECK(msg.find("train.max_steps: expected an integer, got 'ten'") != std::string::npos);
}

TEST_CASE("config: dump round-trips and documents every key", "[config]") {
  Config c = parse_config(kMinimal, "d.yaml", {"train.lr=0.0007", "data.dir=/tmp/some dir", "run_dir=runs/x"});
  const std::string dumped = dump_config(c);
  CHECK(dumped.find("lr: 0.0007") != std::string::npos);
  CHECK(dumped.find("# peak learning rate") != std::string::npos);
  Config back = parse_config(dumped, "dumped.yaml");
  CHECK(dump_config(back) == dumped);
  CHECK(back.data.dir == "/tmp/some dir");
  // Every line with a value carries a comment.
  std::istringstream lines(dumped);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    INFO(line);
    CHECK(line.find("# ") != std::string::npos);
  }
}

TEST_CASE("config: load_config reads a file and shipped configs parse", "[config]") {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator(fs::path(SEQZOO_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(load_config(entry.path().string()));
  }
}

TEST_CASE("config: configs/REFERENCE.yaml documents every key with its default", "[config]") {
  namespace fs = std::filesystem;
  const std::string expected = dump_config(Config());
  const fs::path reference = fs::path(SEQZOO_SOURCE_DIR) / "configs" / "REFERENCE.yaml";
  std::ifstream in(reference);
  std::stringstream actual;
  actual << in.rdbuf();
  if (actual.str() != expected) {
    const fs::path fresh = fs::path(SEQZOO_BINARY_DIR) / "REFERENCE.yaml";
    std::ofstream(fresh) << expected;
    FAIL("configs/REFERENCE.yaml is out of date; the current one is at " << fresh.string());
  }
  CHECK_NOTHROW(parse_config(expected, "REFERENCE.yaml"));
}
