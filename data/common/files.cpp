#include "data/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace seqzoo {
namespace fs = std::filesystem;

namespace {

// Writes all of data to fd; returns 0 or the errno of the failed write.
int write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

bool is_special_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

// Writes text to an existing non-regular file (a device or a pipe) in place.
void write_in_place(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + io_error_reason(errno));
  const int err = write_all(fd, text.data(), text.size());
  const int close_err = ::close(fd) != 0 ? errno : 0;
  if (err != 0 || close_err != 0) throw std::runtime_error("cannot write " + path + ": " + io_error_reason(err ? err : close_err));
}

}  // namespace

std::string io_error_reason(int err) {
  return err == ENOSPC ? std::string("no space left on the device (disk full)") : std::string(std::strerror(err));
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce,
                           const std::string& what) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot write " + what + " " + path + ": cannot create its folder: " + ec.message());
  }
  if (fs::is_directory(target, ec)) throw std::runtime_error("cannot write " + what + " " + path + ": it is a directory");
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + what + " " + tmp + ": " + io_error_reason(errno));
  int write_errno = 0;
  const ByteSink sink = [&](const void* data, size_t n) -> size_t {
    if (write_errno == 0) write_errno = write_all(fd, data, n);
    return n;
  };
  std::string failure;
  try {
    produce(sink);
  } catch (...) {
    ::close(fd);
    fs::remove(tmp, ec);
    if (write_errno != 0) throw std::runtime_error("cannot write " + what + " " + path + ": " + io_error_reason(write_errno));
    throw;
  }
  if (write_errno != 0) failure = io_error_reason(write_errno);
  if (failure.empty() && ::fsync(fd) != 0) failure = "fsync: " + io_error_reason(errno);
  if (::close(fd) != 0 && failure.empty()) failure = "close: " + io_error_reason(errno);
  if (!failure.empty()) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write " + what + " " + path + ": " + failure);
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".", /*directory=*/true);
}

void write_text_file(const std::string& path, const std::string& text) {
  if (is_special_file(path)) return write_in_place(path, text);
  write_file_atomically(path, [&](const ByteSink& sink) { sink(text.data(), text.size()); });
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  size_t n = 0;
  for (const auto& l : lines) n += l.size() + 1;
  text.reserve(n);
  for (const auto& l : lines) text.append(l).push_back('\n');
  write_text_file(path, text);
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw std::runtime_error("cannot read " + path + ": it is a directory, not a file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + io_error_reason(errno));
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot read " + path + ": " + io_error_reason(err));
    }
    if (r == 0) break;
    text.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return text;
}

}  // namespace seqzoo
