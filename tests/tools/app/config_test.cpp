#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tools/app/config.h"
#include "models/rnn/rnn_config.h"
#include "models/transformer/transformer_config.h"

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
  CHECK(c.model.options<AttentionConfig>().type == "general");
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
  CHECK_FALSE(c.model.options<TransformerConfig>().pre_norm);
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
  const fs::path configs = fs::path(SEQZOO_SOURCE_DIR) / "configs";
  int overlays = 0;
  for (const auto& entry : fs::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find("family:") != std::string::npos) {
      CHECK_NOTHROW(load_config(entry.path().string()));
    } else {  // an overlay (e.g. en-de.yaml): composed on top of a full config
      ++overlays;
      CHECK_NOTHROW(load_config({(configs / "transformer-small.yaml").string(), entry.path().string()}));
    }
  }
  CHECK(overlays >= 1);
  // The en-de overlay turns a config around, into its own run directory.
  const Config de_en = load_config((configs / "transformer-small.yaml").string());
  const Config en_de = load_config({(configs / "transformer-small.yaml").string(), (configs / "en-de.yaml").string()});
  CHECK(de_en.data.src_lang == "de");
  CHECK(en_de.data.src_lang == "en");
  CHECK(en_de.data.tgt_lang == "de");
  CHECK(en_de.run_dir != de_en.run_dir);
  CHECK(en_de.run_dir.find("en-de") != std::string::npos);
  CHECK(dump_config(en_de).find("src_lang: en") != std::string::npos);
}

TEST_CASE("config: files compose, later keys override earlier ones, --set comes last", "[config]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "seqzoo_config_compose";
  fs::create_directories(dir);
  std::ofstream(dir / "base.yaml") << "run_dir: runs/x-{src_lang}-{tgt_lang}\nmodel:\n  family: transformer\n"
                                      "  transformer:\n    heads: 8\ntrain:\n  lr: 0.002\n  max_steps: 10\n";
  std::ofstream(dir / "over.yaml") << "train:\n  lr: 0.003\ndata:\n  src_lang: en\n  tgt_lang: de\n";
  const Config c = load_config({(dir / "base.yaml").string(), (dir / "over.yaml").string()}, {"train.max_steps=20"});
  CHECK(c.train.lr == Approx(0.003));                            // the later file wins
  CHECK(c.train.max_steps == 20);                                // --set wins over both
  CHECK(c.model.options<TransformerConfig>().heads == 8);        // the earlier file's other keys stay
  CHECK(c.run_dir == "runs/x-en-de");                            // placeholders follow the direction
  // Errors name the file they come from.
  std::ofstream(dir / "bad.yaml") << "train:\n  lr: -1\n";
  auto msg = error_of([&] { load_config({(dir / "base.yaml").string(), (dir / "bad.yaml").string()}); });
  CHECK(msg.find((dir / "bad.yaml").string() + ":2: train.lr: must be > 0, got -1.0") == 0);
  // A directory given as a config says so.
  CHECK_THROWS_WITH(load_config(dir.string()), Catch::Contains("is a directory"));
  fs::remove_all(dir);
}

TEST_CASE("config: --set errors name the --set argument, not a line of the file", "[config]") {
  auto msg = error_of([] { parse_config(kMinimal, "o.yaml", {"train.warmup_steps=-5"}); });
  CHECK(msg == "--set train.warmup_steps=-5: train.warmup_steps: must be >= 0, got -5");
  msg = error_of([] { parse_config(kMinimal, "o.yaml", {"model.transformer.heads=3"}); });
  CHECK(msg.find("model.transformer.heads: must divide d_model") != std::string::npos);
}

TEST_CASE("config: duplicate keys are rejected naming both lines", "[config]") {
  auto msg = error_of([] { parse_config("model:\n  family: transformer\ntrain:\n  lr: 0.1\nmodel:\n  family: attention\n",
                                        "dup.yaml"); });
  CHECK(msg.find("dup.yaml:5: model: duplicate key (also on line 1)") == 0);
  msg = error_of([] { parse_config("model:\n  family: transformer\n  dropout: 0.1\n  dropout: 0.2\n", "dup.yaml"); });
  CHECK(msg.find("dup.yaml:4: model.dropout: duplicate key (also on line 3)") == 0);
}

TEST_CASE("config: a run directory's config.yaml from before train.tune_alpha still loads", "[config]") {
  const Config c = parse_config(kMinimal + "search:\n  beam_size: 4\n  tune_alpha: true\n", "old.yaml");
  CHECK(c.train.tune_alpha);
  CHECK(c.search.beam_size == 4);
  CHECK(dump_config(c).find("tune_alpha") > dump_config(c).find("train:"));
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
