#pragma once
// Reads lines from a file descriptor for streaming translation: hands out every complete line that
// is already available without blocking for more, so an interactive user gets each answer at once,
// while piped input is still consumed in large batches.
#include <string>
#include <vector>

namespace seqzoo {

class LineReader {
 public:
  explicit LineReader(int fd = 0, size_t max_line_bytes = 64u << 20) : fd_(fd), max_line_(max_line_bytes) {}
  // Blocks until at least one line (or EOF) is available, then returns up to max_lines lines that
  // are available now. Empty result = end of input. A final line without '\n' counts as a line.
  // Lines longer than max_line_bytes throw std::invalid_argument naming the line number.
  // With block false it never waits: empty = nothing complete available now (or end of input).
  std::vector<std::string> next_batch(size_t max_lines, bool block = true);
  long lines_read() const { return lines_read_; }

 private:
  bool fill(bool block);  // reads what is available; false at EOF
  int fd_;
  size_t max_line_;
  std::string buffer_;
  size_t start_ = 0;
  bool eof_ = false;
  long lines_read_ = 0;
};

}  // namespace seqzoo
