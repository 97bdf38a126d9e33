#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "data/spm_shim.h"

// The isolated SentencePiece module loads next to LibTorch, trains and round-trips text.
TEST_CASE("spm shim: module loads, trains, encodes and decodes beside LibTorch", "[data][spm]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("seqzoo_spm_shim_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "corpus.txt");
    for (int i = 0; i < 200; ++i) out << "Ein Mann fährt " << i % 7 << " mal über die Straße.\nA dog runs fast.\n";
  }
  const std::string prefix = (dir / "m").string();
  const std::string err = seqzoo::spm::train("--input=" + (dir / "corpus.txt").string() + " --model_prefix=" + prefix +
                                             " --vocab_size=60 --hard_vocab_limit=false --minloglevel=2"
                                             " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 --num_threads=1");
  REQUIRE(err.empty());
  auto sp = seqzoo::spm::make_processor();
  REQUIRE(sp->load(prefix + ".model").empty());
  CHECK(sp->pad_id() == 0);
  CHECK(sp->eos_id() == 3);
  const std::string text = "Ein Mann fährt über die Straße.";
  auto ids = sp->encode(text);
  CHECK(!ids.empty());
  CHECK(sp->decode(ids) == text);
  CHECK_FALSE(sp->load((dir / "missing.model").string()).empty());
  torch::Tensor t = torch::ones({3});  // LibTorch still works in the same process
  CHECK(t.sum().item<float>() == 3.0f);
  fs::remove_all(dir);
}
