#pragma once
// The serving use-case without the HTTP: requests from many clients wait in one bounded queue per
// model, and one decoding thread per model replica takes them in shared batches (dynamic batching,
// as Triton's and Marian's servers do): requests with the same decoding options join one batch up to
// a source-token budget, the first of them waiting a few milliseconds at most for the others. A
// request's lines are numbered 1..n as seqzoo-translate numbers them, so a sentence's search (and its
// sampling draws) does not depend on which requests shared its batch; only the rounding of its score
// does, as with seqzoo-translate's own batches.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tools/app/inference.h"
#include "tools/app/translation.h"

namespace seqzoo {

struct ServiceOptions {
  int64_t replicas = 1;            // decoding threads, each with its own copy of the model (>= 1)
  int64_t threads = 0;             // intra-op threads in all, split evenly between replicas (0 = all cores)
  int64_t batch_tokens = 0;        // source-token budget of a shared batch (0 = the run's search.batch_tokens)
  double max_wait_ms = 10;         // longest a free decoder waits with a request for others to join (>= 0)
  int64_t max_queue_lines = 4096;  // lines waiting at most; a request beyond is refused (QueueFull) (>= 1)
  // std::invalid_argument naming the field when a value is out of range.
  void validate() const;
};

// The queue is full: the caller should retry later (HTTP 503 with Retry-After).
struct QueueFull : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The request's deadline passed before a replica started it (HTTP 503/504).
struct RequestExpired : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ServiceRequest {
  std::vector<std::string> lines;  // raw text, valid UTF-8 unless options.replace_invalid
  TranslateOptions options;        // search options already validated by the caller (submit validates again)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct ServiceResult {
  std::vector<Translation> translations;  // in input order
  int64_t tokens = 0;                     // source subword tokens of the request
  int64_t batch_lines = 0;                // lines in the shared batch it was decoded in
  int64_t batch_requests = 0;             // requests in that batch
  double queue_ms = 0, decode_ms = 0;     // time waiting for a replica, and the batch's decoding time
};

class TranslationService {
 public:
  // Calls `load` once per replica (each a model of its own: replicas share nothing while decoding)
  // and starts the decoding threads. `load` errors propagate.
  TranslationService(const std::function<LoadedModel()>& load, const ServiceOptions& options);
  ~TranslationService();
  TranslationService(const TranslationService&) = delete;
  TranslationService& operator=(const TranslationService&) = delete;

  // Queues a request. QueueFull when the queue already holds max_queue_lines lines (a request larger
  // than that alone is refused with std::invalid_argument), std::runtime_error after shutdown(),
  // std::invalid_argument for options out of range. The future yields the result, or throws what
  // decoding threw for this request (RequestExpired when its deadline passed first).
  std::future<ServiceResult> submit(ServiceRequest request);

  // Stops taking requests, lets the replicas finish every queued one, joins them. Idempotent.
  void shutdown();

  const LoadedModel& model() const { return *replicas_.front(); }  // config and tokenizers
  const ServiceOptions& options() const { return options_; }
  int64_t queued_lines() const;

 private:
  struct Job;
  void decode_loop(size_t replica);
  std::vector<std::shared_ptr<Job>> take_batch();  // blocks; empty when shut down and drained

  ServiceOptions options_;
  int64_t intra_threads_ = 1;
  std::vector<std::unique_ptr<LoadedModel>> replicas_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  int64_t queued_lines_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace seqzoo
