// Tests of the SentencePiece wrapper: special ids, round trips, joint/separate models, errors.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/spm_shim.h"
#include "data/tokenizer.h"
#include "tests/data/fixtures.h"

using namespace seqzoo;
using seqzoo::testing::generated_sentences;
using seqzoo::testing::join_lines;
using seqzoo::testing::shared_tokenizer;
using seqzoo::testing::TempDir;
using seqzoo::testing::write_file;

namespace {
const std::string kMetaSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's word-boundary mark

// Runs fn with stdout and stderr redirected to a file; returns what was written there.
template <typename Fn>
std::string captured_output(const std::string& path, Fn&& fn) {
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = dup(1), saved_err = dup(2);
  FILE* sink = std::fopen(path.c_str(), "w");
  REQUIRE(sink != nullptr);
  dup2(fileno(sink), 1);
  dup2(fileno(sink), 2);
  try {
    fn();
  } catch (...) {
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    throw;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  std::fclose(sink);
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("tokenizer has the fixed special ids", "[data]") {
  const auto& tok = *shared_tokenizer().tok.src;
  CHECK(tok.id_to_pieces({kPadId, kUnkId, kBosId, kEosId}) ==
        std::vector<std::string>{"<pad>", "<unk>", "<s>", "</s>"});
  CHECK(tok.vocab_size() > 20);
  CHECK(tok.vocab_size() <= 150);
  const auto ids = tok.encode("Ein Mädchen läuft über die Straße.");
  REQUIRE(!ids.empty());
  for (const int64_t id : ids) {
    CHECK(id > kEosId);  // plain text never yields pad/unk/bos/eos
    CHECK(id < tok.vocab_size());
  }
}

TEST_CASE("tokenizer round-trips raw text with accents and punctuation", "[data]") {
  const auto& tok = *shared_tokenizer().tok.src;
  const std::vector<std::string> texts = {
      "Ein Mädchen läuft über die Straße.",
      "The dog plays football in the café, and men eat apples!",
      "\"Schön\" (größer) - naïve?",
      "Männer essen Äpfel, Fußball 'und' Café.",
  };
  for (const auto& text : texts) {
    const auto ids = tok.encode(text);
    const std::string back = tok.decode(ids);
    CHECK(back == text);
    CHECK(back.find(kMetaSpace) == std::string::npos);
    // The pieces carry the word boundaries as U+2581.
    const auto pieces = tok.encode_pieces(text);
    REQUIRE(pieces.size() == ids.size());
    CHECK(pieces.front().rfind(kMetaSpace, 0) == 0);
    CHECK(tok.id_to_pieces(ids) == pieces);
  }
}

TEST_CASE("tokenizer decode stops at eos and skips pad and bos", "[data]") {
  const auto& tok = *shared_tokenizer().tok.src;
  const auto ids = tok.encode("Der Hund spielt im Café.");
  const auto other = tok.encode("A girl runs across the street");
  std::vector<int64_t> framed = {kBosId};
  framed.insert(framed.end(), ids.begin(), ids.end());
  framed.push_back(kEosId);
  framed.insert(framed.end(), other.begin(), other.end());
  framed.push_back(kPadId);
  CHECK(tok.decode(framed) == "Der Hund spielt im Café.");
  std::vector<int64_t> padded = ids;
  padded.insert(padded.begin() + 1, kPadId);
  padded.push_back(kPadId);
  CHECK(tok.decode(padded) == "Der Hund spielt im Café.");
  CHECK(tok.decode({kEosId}).empty());
  CHECK_THROWS_AS(tok.decode({tok.vocab_size()}), std::invalid_argument);
  CHECK_THROWS_AS(tok.decode({-5}), std::invalid_argument);
}

TEST_CASE("tokenizer load errors name the file", "[data]") {
  TempDir dir;
  const std::string missing = dir.file("nope.model");
  try {
    Tokenizer::load(missing);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
  }
  const std::string corrupt = dir.file("corrupt.model");
  write_file(corrupt, "this is not a protobuf \x01\x02\x03");
  try {
    Tokenizer::load(corrupt);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(corrupt) != std::string::npos);
  }
  CHECK_THROWS_AS(load_tokenizers(testing::tokenizer_paths(dir.path().string())), std::runtime_error);
  try {
    load_tokenizers(testing::tokenizer_paths(dir.path().string()));
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(dir.path().string()) != std::string::npos);
  }
}

TEST_CASE("tokenizer load rejects models with other special ids", "[data]") {
  TempDir dir;
  const std::string text = dir.file("text.txt");
  write_file(text, join_lines(generated_sentences(100, false, 3)));
  // SentencePiece's defaults: unk 0, bos 1, eos 2, no pad.
  const std::string error = spm::train(
      spm::Flags{{"input", text}, {"model_prefix", dir.file("default")}, {"vocab_size", "60"},
                 {"hard_vocab_limit", "false"}, {"minloglevel", "2"}, {"num_threads", "1"}},
      1);
  REQUIRE(error.empty());
  CHECK_THROWS_AS(Tokenizer::load(dir.file("default.model")), std::invalid_argument);
}

TEST_CASE("joint and separate tokenizers in a run directory", "[data]") {
  const auto& shared = shared_tokenizer();
  TempDir dir;
  TokenizerConfig cfg;
  cfg.vocab_size = 120;

  SECTION("joint: one spm.model shared by both sides, reloadable") {
    const std::string run = dir.file("joint");
    const auto t = train_tokenizers(testing::tokenizer_paths(run), shared.src_file, shared.tgt_file, cfg);
    CHECK(t.joint());
    CHECK(std::filesystem::exists(run + "/spm.model"));
    CHECK_FALSE(std::filesystem::exists(run + "/spm.src.model"));
    const auto loaded = load_tokenizers(testing::tokenizer_paths(run));
    CHECK(loaded.joint());
    CHECK(loaded.src->encode("Der Hund plays football") == t.src->encode("Der Hund plays football"));
  }
  SECTION("separate: one model per side, trained on its own file") {
    cfg.joint = false;
    const std::string run = dir.file("separate");
    // A stale joint model must not shadow the new per-side models.
    std::filesystem::create_directories(run);
    std::filesystem::copy_file(shared.tok.src->path(), run + "/spm.model");
    const auto t = train_tokenizers(testing::tokenizer_paths(run), shared.src_file, shared.tgt_file, cfg);
    CHECK_FALSE(t.joint());
    CHECK(std::filesystem::exists(run + "/spm.src.model"));
    CHECK(std::filesystem::exists(run + "/spm.tgt.model"));
    CHECK_FALSE(std::filesystem::exists(run + "/spm.model"));
    const auto loaded = load_tokenizers(testing::tokenizer_paths(run));
    CHECK_FALSE(loaded.joint());
    // Each side round-trips its own language; "football" is frequent in the English file only,
    // so the two models segment it differently.
    CHECK(loaded.src->decode(loaded.src->encode("Mädchen läuft über die Straße")) ==
          "Mädchen läuft über die Straße");
    CHECK(loaded.tgt->decode(loaded.tgt->encode("The girl runs across the street")) ==
          "The girl runs across the street");
    CHECK(loaded.src->encode_pieces("football") != loaded.tgt->encode_pieces("football"));
    // Only one side present: an error naming the missing file.
    std::filesystem::remove(run + "/spm.tgt.model");
    CHECK_THROWS_WITH(load_tokenizers(testing::tokenizer_paths(run)), Catch::Contains("spm.tgt.model"));
  }
  SECTION("an existing model is copied instead of training") {
    cfg.model = shared.tok.src->path();
    const std::string run = dir.file("copied");
    const auto t = train_tokenizers(testing::tokenizer_paths(run), "/nonexistent/src", "/nonexistent/tgt", cfg);
    CHECK(t.joint());
    CHECK(std::filesystem::exists(run + "/spm.model"));
    CHECK(t.src->vocab_size() == shared.tok.src->vocab_size());
    CHECK(t.src->encode("Ein Mädchen, ein Hund.") == shared.tok.src->encode("Ein Mädchen, ein Hund."));
    cfg.model = dir.file("missing.model");
    CHECK_THROWS_WITH(train_tokenizers(testing::tokenizer_paths(dir.file("copied2")), "", "", cfg),
                      Catch::Contains("missing.model"));
  }
}

TEST_CASE("tokenizer training is quiet and validates its input", "[data]") {
  const auto& shared = shared_tokenizer();
  TempDir dir;
  TokenizerConfig cfg;
  cfg.vocab_size = 80;
  cfg.type = "bpe";
  const std::string out = captured_output(dir.file("log.txt"), [&] {
    const auto t = Tokenizer::train({shared.tgt_file}, dir.file("bpe"), cfg);
    CHECK(t.decode(t.encode("The dog eats apples.")) == "The dog eats apples.");
  });
  CHECK(out.empty());
  CHECK_THROWS_AS(Tokenizer::train({dir.file("absent.txt")}, dir.file("x"), cfg), std::runtime_error);
  cfg.vocab_size = 3;
  CHECK_THROWS_AS(Tokenizer::train({shared.tgt_file}, dir.file("x"), cfg), std::invalid_argument);
}
