#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "data/common/files.h"

using namespace seqzoo;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Folder {
  fs::path path = fs::temp_directory_path() / ("seqzoo_files_" + std::to_string(::getpid()));
  Folder() { fs::create_directories(path); }
  ~Folder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("atomic writes: the file appears whole, folders are created, no temporary is left", "[common]") {
  Folder dir;
  const fs::path target = dir.path / "sub" / "out.txt";
  write_text_file(target.string(), "one\ntwo\n");
  CHECK(slurp(target) == "one\ntwo\n");
  CHECK_FALSE(fs::exists(target.string() + ".tmp"));
  write_lines(target.string(), {"a", "", "c"});
  CHECK(slurp(target) == "a\n\nc\n");
  CHECK(read_text_file(target.string()) == "a\n\nc\n");
}

TEST_CASE("atomic writes: a failure keeps the previous file and removes the temporary", "[common]") {
  Folder dir;
  const fs::path target = dir.path / "keep.txt";
  write_text_file(target.string(), "previous");
  CHECK_THROWS_WITH(write_file_atomically(target.string(),
                                          [](const ByteSink& sink) {
                                            sink("partial", 7);
                                            throw std::runtime_error("producer failed");
                                          }),
                    Catch::Contains("producer failed"));
  CHECK(slurp(target) == "previous");
  CHECK_FALSE(fs::exists(target.string() + ".tmp"));
  // A directory in the way is named as such.
  fs::create_directories(dir.path / "a_dir");
  CHECK_THROWS_WITH(write_text_file((dir.path / "a_dir").string(), "x"), Catch::Contains("is a directory"));
  CHECK_THROWS_WITH(read_text_file((dir.path / "a_dir").string()), Catch::Contains("is a directory"));
  CHECK_THROWS_WITH(read_text_file((dir.path / "missing").string()), Catch::Contains("missing"));
}

TEST_CASE("writes to a device are checked: /dev/full reports the full disk", "[common]") {
  if (!fs::exists("/dev/full")) {
    WARN("no /dev/full: skipped");
    return;
  }
  CHECK_THROWS_WITH(write_text_file("/dev/full", "data\n"), Catch::Contains("/dev/full") && Catch::Contains("disk full"));
  CHECK_NOTHROW(write_text_file("/dev/null", "data\n"));
}
