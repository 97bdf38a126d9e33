#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "models/checkpoint/checkpoint.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace

TEST_CASE("a truncated or altered checkpoint is reported as corrupt", "[checkpoint]") {
  TempDir dir("ckpt_corrupt");
  torch::manual_seed(2);
  MockModel m(20, 8);
  {
    torch::NoGradGuard g;
    m->out->weight.fill_(1.2345f);  // a recognisable byte pattern in the file
  }
  const std::string path = dir / "c.pt";
  save_checkpoint(path, *m, "mock");
  const std::string bytes = read_file(path);
  REQUIRE(bytes.size() > 1000);

  SECTION("truncated") {
    for (size_t keep : {bytes.size() / 2, bytes.size() - 10, size_t(100), size_t(0)}) {
      write_file(path, bytes.substr(0, keep));
      CHECK_THROWS_WITH(load_checkpoint(path, *m), Catch::StartsWith("checkpoint " + path + " is corrupt or truncated: "));
    }
  }
  SECTION("one bit of a weight flipped") {
    float v = 1.2345f;
    std::string pattern(reinterpret_cast<const char*>(&v), sizeof v);
    size_t at = bytes.find(pattern + pattern);
    REQUIRE(at != std::string::npos);
    std::string altered = bytes;
    altered[at] = static_cast<char>(altered[at] ^ 0x01);
    write_file(path, altered);
    CHECK_THROWS_WITH(load_checkpoint(path, *m), Catch::Contains("is corrupt or truncated"));
  }
  SECTION("not a checkpoint") {
    write_file(path, "hello");
    CHECK_THROWS_WITH(load_checkpoint(path, *m), Catch::Contains("is corrupt or truncated"));
  }
}

TEST_CASE("a failed checkpoint write leaves the previous file intact and no partial file", "[checkpoint]") {
  TempDir dir("ckpt_atomic");
  torch::manual_seed(3);
  MockModel small(20, 8), big(2000, 64);
  const std::string path = dir / "c.pt";
  save_checkpoint(path, *small, "mock");
  const std::string before = read_file(path);

  // A file-size limit makes the write fail halfway (EFBIG) for the big model.
  struct rlimit old_limit;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  bool threw = false;
  std::string message;
  try {
    save_checkpoint(path, *big, "mock");
  } catch (const std::runtime_error& e) {
    threw = true;
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  CHECK(threw);
  CHECK_THAT(message, Catch::Contains("cannot write checkpoint " + path));
  CHECK(read_file(path) == before);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  MockModel again(20, 8);
  CHECK_NOTHROW(load_checkpoint(path, *again));
  CHECK(same_parameters(*small, *again));
}

TEST_CASE("checkpoint averaging is the mean of the parameters", "[checkpoint]") {
  TempDir dir("ckpt_avg");
  torch::manual_seed(4);
  MockModel a(20, 8), b(20, 8), avg(20, 8);
  save_checkpoint(dir / "a.pt", *a, "mock");
  save_checkpoint(dir / "b.pt", *b, "mock");
  average_checkpoints({dir / "a.pt", dir / "b.pt"}, dir / "avg.pt");
  load_checkpoint(dir / "avg.pt", *avg, torch::kCPU, "mock");
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : avg->named_parameters())
    CHECK(torch::allclose(p.value(), (pa[p.key()] + pb[p.key()]) / 2, 1e-6, 1e-6));
  MockModel other(20, 12);
  save_checkpoint(dir / "o.pt", *other, "mock");
  CHECK_THROWS_AS(average_checkpoints({dir / "a.pt", dir / "o.pt"}, dir / "bad.pt"), std::invalid_argument);
  CHECK_FALSE(fs::exists(dir / "bad.pt"));
}

