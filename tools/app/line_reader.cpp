#include "tools/app/line_reader.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace seqzoo {

bool LineReader::fill(bool block) {
  if (eof_) return false;
  if (!block) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 0);
    if (r <= 0) return true;  // nothing available now
  }
  char chunk[1 << 16];
  ssize_t n;
  do {
    n = ::read(fd_, chunk, sizeof chunk);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw std::runtime_error(std::string("cannot read input: ") + std::strerror(errno));
  if (n == 0) {
    eof_ = true;
    return false;
  }
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::vector<std::string> LineReader::next_batch(size_t max_lines, bool block) {
  std::vector<std::string> lines;
  auto take_complete = [&] {
    while (lines.size() < max_lines) {
      size_t nl = buffer_.find('\n', start_);
      if (nl == std::string::npos) {
        if (buffer_.size() - start_ > max_line_)
          throw std::invalid_argument("<stdin>:" + std::to_string(lines_read_ + 1) + ": line longer than " +
                                      std::to_string(max_line_) + " bytes");
        return;
      }
      std::string line = buffer_.substr(start_, nl - start_);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      start_ = nl + 1;
      ++lines_read_;
    }
  };
  take_complete();
  // Block until at least one line or EOF.
  while (block && lines.empty() && !eof_) {
    fill(true);
    take_complete();
  }
  // Then take whatever else is already there, without blocking.
  while (lines.size() < max_lines && !eof_) {
    size_t before = buffer_.size();
    fill(false);
    if (buffer_.size() == before) break;
    take_complete();
  }
  if (eof_ && lines.size() < max_lines && start_ < buffer_.size()) {  // last line without '\n'
    std::string line = buffer_.substr(start_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start_ = buffer_.size();
    ++lines_read_;
  }
  return lines;
}

}  // namespace seqzoo
