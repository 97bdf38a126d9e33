// Tests of corpus reading/validation and tokenization with filters.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "tests/data/fixtures.h"

using namespace seqzoo;
using seqzoo::testing::join_lines;
using seqzoo::testing::shared_tokenizer;
using seqzoo::testing::TempDir;
using seqzoo::testing::write_file;

namespace {
// The message of the std::invalid_argument fn throws ("" if none).
template <typename Fn>
std::string invalid_argument_message(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Sets an environment variable for the scope, restoring the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_.c_str(), old_.c_str(), 1);
    else unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};
}  // namespace

TEST_CASE("find_invalid_utf8 follows RFC 3629", "[data]") {
  CHECK(find_invalid_utf8("") == std::string::npos);
  CHECK(find_invalid_utf8("plain ascii") == std::string::npos);
  CHECK(find_invalid_utf8("Straße café 日本 \xF0\x9F\x98\x80") == std::string::npos);  // 2,3,4 bytes
  CHECK(find_invalid_utf8("ab\xC3\x28") == 2);          // bad continuation
  CHECK(find_invalid_utf8("a\x80") == 1);               // lone continuation byte
  CHECK(find_invalid_utf8("\xC0\xAF") == 0);            // overlong '/'
  CHECK(find_invalid_utf8("\xE0\x80\xAF") == 0);        // overlong 3-byte
  CHECK(find_invalid_utf8("x\xED\xA0\x80") == 1);       // UTF-16 surrogate
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0);    // above U+10FFFF
  CHECK(find_invalid_utf8("\xF5\x80\x80\x80") == 0);    // invalid lead byte
  CHECK(find_invalid_utf8("abc\xE2\x82") == 3);         // truncated at the end
}

TEST_CASE("read_parallel reads aligned files, strips CR and BOM", "[data]") {
  TempDir dir;
  write_file(dir.file("a.de"), "\xEF\xBB\xBFHallo Welt\r\nZweite Zeile\r\n");
  write_file(dir.file("a.en"), "Hello world\nSecond line");  // no final newline
  const auto c = read_parallel(dir.file("a.de"), dir.file("a.en"));
  REQUIRE(c.size() == 2);
  CHECK(c.src == std::vector<std::string>{"Hallo Welt", "Zweite Zeile"});
  CHECK(c.tgt == std::vector<std::string>{"Hello world", "Second line"});
  CHECK(c.src_path == dir.file("a.de"));
  const auto only_src = read_parallel(dir.file("a.de"), "");
  CHECK(only_src.size() == 2);
  CHECK(only_src.tgt.empty());
  CHECK(read_lines(dir.file("a.en")) == c.tgt);
}

TEST_CASE("corpus errors name files, lines and counts", "[data]") {
  TempDir dir;
  SECTION("misaligned files") {
    write_file(dir.file("m.de"), "eins\nzwei\ndrei\n");
    write_file(dir.file("m.en"), "one\ntwo\n");
    const std::string msg =
        invalid_argument_message([&] { read_parallel(dir.file("m.de"), dir.file("m.en")); });
    CHECK_THAT(msg, Catch::Contains(dir.file("m.de")) && Catch::Contains(dir.file("m.en")) &&
                        Catch::Contains("3") && Catch::Contains("2"));
  }
  SECTION("invalid UTF-8") {
    write_file(dir.file("u.de"), "gut\nschlecht \xFF hier\n");
    write_file(dir.file("u.en"), "good\nbad\n");
    const std::string msg =
        invalid_argument_message([&] { read_parallel(dir.file("u.de"), dir.file("u.en")); });
    CHECK_THAT(msg, Catch::Contains(dir.file("u.de") + ":2: invalid UTF-8 at byte 10"));
  }
  SECTION("CR-only line endings") {
    write_file(dir.file("cr.de"), "eins\rzwei\rdrei\r");
    write_file(dir.file("cr.en"), "one\rtwo\rthree\r");
    const std::string msg = invalid_argument_message([&] { read_parallel(dir.file("cr.de"), dir.file("cr.en")); });
    CHECK_THAT(msg, Catch::Contains(dir.file("cr.de") + ":1: a carriage return inside a line"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(read_parallel(dir.file("none.de"), dir.file("none.en")),
                      Catch::Contains("cannot open " + dir.file("none.de")));
    CHECK_THROWS_AS(read_lines(dir.file("none.de")), std::runtime_error);
  }
  SECTION("line too long") {
    write_file(dir.file("long.de"), "short\n" + std::string((1 << 20) + 1, 'a') + "\n");
    const std::string msg = invalid_argument_message([&] { read_lines(dir.file("long.de")); });
    CHECK_THAT(msg, Catch::Contains(dir.file("long.de") + ":2") && Catch::Contains("line too long"));
  }
}

TEST_CASE("read_tsv splits at exactly one TAB", "[data]") {
  TempDir dir;
  write_file(dir.file("ok.tsv"), "Hallo\tHello\r\nTschüss\tBye\n\t\n");
  const auto c = read_tsv(dir.file("ok.tsv"));
  CHECK(c.src == std::vector<std::string>{"Hallo", "Tschüss", ""});
  CHECK(c.tgt == std::vector<std::string>{"Hello", "Bye", ""});
  write_file(dir.file("none.tsv"), "a\tb\nno tab here\n");
  CHECK_THAT(invalid_argument_message([&] { read_tsv(dir.file("none.tsv")); }),
             Catch::Contains(dir.file("none.tsv") + ":2"));
  write_file(dir.file("two.tsv"), "a\tb\tc\n");
  CHECK_THAT(invalid_argument_message([&] { read_tsv(dir.file("two.tsv")); }),
             Catch::Contains(dir.file("two.tsv") + ":1"));
}

TEST_CASE("read_split resolves prefixes and TSVs in the data folder", "[data]") {
  TempDir dir;
  write_file(dir.file("train.fr"), "Bonjour\nMerci\n");
  write_file(dir.file("train.it"), "Ciao\nGrazie\n");
  write_file(dir.file("dev.tsv"), "Bonjour\tCiao\n");
  DataConfig data;
  data.dir = dir.path().string();
  data.src_lang = "fr";
  data.tgt_lang = "it";
  const auto train = read_split(data, "train");
  CHECK(train.src == std::vector<std::string>{"Bonjour", "Merci"});
  CHECK(train.tgt == std::vector<std::string>{"Ciao", "Grazie"});
  CHECK(train.src_path == dir.file("train.fr"));
  const auto dev = read_split(data, "dev.tsv");
  CHECK(dev.size() == 1);
  CHECK(dev.tgt[0] == "Ciao");
  CHECK_THROWS_WITH(read_split(data, "test"), Catch::Contains(dir.file("test.fr")));

  // The data folder: data.dir, else $SEQZOO_DATA, else the shared Multi30k folder.
  CHECK(resolve_data_dir(data) == dir.path().string());
  data.dir.clear();
  {
    ScopedEnv env("SEQZOO_DATA", dir.path().string().c_str());
    CHECK(resolve_data_dir(data) == dir.path().string());
    CHECK(read_split(data, "train").size() == 2);
  }
  {
    ScopedEnv env("SEQZOO_DATA", nullptr);
    CHECK(resolve_data_dir(data) == "../shared/data/multi30k");
  }
}

TEST_CASE("tokenize_corpus filters empty and out-of-range pairs only when asked", "[data]") {
  const auto& tok = shared_tokenizer().tok;
  RawCorpus raw;
  raw.src = {"Ein Hund.", "", "Der Hund spielt im Café.", "Ein Mädchen läuft über die Straße und der Hund spielt Fußball",
             "Männer essen Äpfel", "Hund"};
  raw.tgt = {"A dog.", "The dog.", "", "A girl runs across the street and the dog plays football",
             "Men eat apples", "The dog plays in the café and the men eat apples and the girl runs"};
  DataConfig data;

  SECTION("without filter every pair is kept, empty sides give empty lists") {
    const auto t = tokenize_corpus(raw, tok, data, false);
    REQUIRE(t.size() == raw.size());
    CHECK(t.index == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
    CHECK(t.src[1].empty());
    CHECK(t.tgt[2].empty());
    CHECK(t.skipped_empty == 0);
    CHECK(t.skipped_length == 0);
    for (size_t i = 0; i < raw.size(); ++i) {
      CHECK(t.src[i] == tok.src->encode(raw.src[i]));
      CHECK(t.tgt[i] == tok.tgt->encode(raw.tgt[i]));
    }
  }
  SECTION("with filter: empty sides and the length ratio") {
    data.max_len_ratio = 3.0;
    const auto t = tokenize_corpus(raw, tok, data, true);
    CHECK(t.skipped_empty == 2);
    // Pair 5 ("Hund" vs a long sentence) is far beyond a 3:1 ratio.
    CHECK(t.skipped_length == 1);
    CHECK(t.index == std::vector<int64_t>{0, 3, 4});
    CHECK(t.src[1] == tok.src->encode(raw.src[3]));
  }
  SECTION("with filter: max_len and min_len") {
    data.max_len_ratio = 0;  // off
    data.max_len = static_cast<int64_t>(tok.src->encode(raw.src[4]).size());
    const auto long_pair = static_cast<int64_t>(tok.src->encode(raw.src[3]).size());
    REQUIRE(long_pair > data.max_len);
    auto t = tokenize_corpus(raw, tok, data, true);
    for (size_t i = 0; i < t.size(); ++i) {
      CHECK(static_cast<int64_t>(t.src[i].size()) <= data.max_len);
      CHECK(static_cast<int64_t>(t.tgt[i].size()) <= data.max_len);
    }
    CHECK(t.skipped_empty == 2);
    CHECK(t.skipped_length + static_cast<int64_t>(t.size()) == 4);
    CHECK(std::find(t.index.begin(), t.index.end(), 3) == t.index.end());
    data.max_len = 1000;
    data.min_len = 1000;
    t = tokenize_corpus(raw, tok, data, true);
    CHECK(t.size() == 0);
    CHECK(t.skipped_length == 4);
  }
}

TEST_CASE("tokenize_corpus on a larger corpus is deterministic across its threads", "[data]") {
  const auto& tok = shared_tokenizer().tok;
  RawCorpus raw;
  raw.src = seqzoo::testing::generated_sentences(3000, true, 5);
  raw.tgt = seqzoo::testing::generated_sentences(3000, false, 6);
  const auto t = tokenize_corpus(raw, tok, DataConfig{}, false);
  REQUIRE(t.size() == 3000);
  for (size_t i = 0; i < t.size(); i += 97) {
    CHECK(t.src[i] == tok.src->encode(raw.src[i]));
    CHECK(t.tgt[i] == tok.tgt->encode(raw.tgt[i]));
  }
  CHECK(t.src.back() == tok.src->encode(raw.src.back()));
}
