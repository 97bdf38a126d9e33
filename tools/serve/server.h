#pragma once
// The serve use-case: trained runs behind an HTTP JSON API (tools/serve/api.h) on cpp-httplib, each
// run decoded by its own TranslationService (dynamic batching, one decoding thread per replica).
// Stops gracefully on SIGTERM/SIGINT: stops accepting, answers every request in flight, exits.
#include <cstdint>
#include <string>
#include <vector>

#include "tools/serve/api.h"

namespace seqzoo {

struct ServeOptions {
  std::vector<std::string> runs;   // "DIR" or "NAME=DIR" (default name: the directory's last component)
  std::string checkpoint = "best";
  std::string device = "auto";
  std::string precision = "fp32";  // the decoders' matrix products: fp32 | bf16 (as seqzoo-translate's --precision)
  int64_t threads = 0;             // intra-op threads of all replicas together (0 = all cores)
  std::string host = "127.0.0.1";
  int64_t port = 8080;             // 0 = any free port (the log line "listening on" says which)
  ServiceOptions service;          // replicas, batch budget, batching wait, queue bound (per model)
  ApiLimits limits;                // lines per request, bytes per line
  int64_t max_body_bytes = 1 << 20;  // larger bodies are refused with 413 before they are read
  double timeout_s = 30;           // a request not started by a replica within this is answered 504
  int64_t http_threads = 64;       // connections served at once (keep-alive connections hold one)
  double read_timeout_s = 5;       // a client that sends nothing for this long is disconnected
  // std::invalid_argument naming the option when a value is out of range.
  void validate() const;
};

// Loads the runs, listens, serves until SIGTERM/SIGINT, then shuts down gracefully. Logs one line per
// request to stderr. Returns the process exit code (0 after a signal). Installs handlers for SIGTERM
// and SIGINT (and ignores SIGPIPE) for the process.
int serve(const ServeOptions& options);

}  // namespace seqzoo
