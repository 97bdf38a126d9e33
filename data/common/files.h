#pragma once
// Files written so that a crash, a kill or a full disk never leaves a half-written file under the
// final name: the one atomic writer of the project (checkpoints, configs, reports, hypotheses).
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace seqzoo {

// Receives the bytes of a file being written. Returns n even after a failed write (the failure is
// remembered and reported when the file is finished): LibTorch's zip writer cannot recover from a
// short write.
using ByteSink = std::function<size_t(const void* data, size_t n)>;

// Writes <path>.tmp through `produce`, fsyncs it, renames it over `path` and fsyncs the folder
// (creating the folder first). Any failure (open, write, ENOSPC, fsync, rename) removes the
// temporary, keeps the previous `path` and throws std::runtime_error "cannot write <what> <path>:
// <reason>". An exception from `produce` also removes the temporary and is rethrown.
void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce,
                           const std::string& what = "file");

// Text (or lines, each followed by '\n') written atomically as above. A path that exists and is
// not a regular file (/dev/null, a pipe, /dev/stdout) is written in place, with every write checked.
void write_text_file(const std::string& path, const std::string& text);
void write_lines(const std::string& path, const std::vector<std::string>& lines);

// The whole file (std::runtime_error "cannot read <path>: <reason>"; a directory is named as such).
std::string read_text_file(const std::string& path);

// The reason of a failed I/O call, as the library's messages give it: strerror, except that ENOSPC
// says "disk full" in plain words.
std::string io_error_reason(int err);

// fsync of a file or folder, best effort (folders on file systems that refuse it are skipped).
void fsync_path(const std::string& path, bool directory);

}  // namespace seqzoo
