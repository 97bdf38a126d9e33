#include "tools/app/translation_service.h"

#include <torch/torch.h>

#include <algorithm>
#include <exception>

#include "data/common/config_fields.h"
#include "tools/app/runtime.h"

namespace seqzoo {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Requests decode together only when every decoding option is the same.
std::string batch_key(const TranslateOptions& o) {
  SearchOptions s = o.search;
  std::string key = dump_config_fields([&](FieldVisitor& v) { s.visit(v); }, /*comments=*/false);
  key += o.replace_invalid ? "|replace" : "|strict";
  key += o.prefix ? "|prefix" : "|plain";
  key += o.search.keep_attention ? "|attention" : "|-";
  return key;
}

}  // namespace

void ServiceOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (replicas < 1) bad("replicas: must be >= 1, got " + std::to_string(replicas));
  if (threads < 0) bad("threads: must be >= 0, got " + std::to_string(threads));
  if (batch_tokens < 0) bad("batch_tokens: must be >= 0, got " + std::to_string(batch_tokens));
  if (!(max_wait_ms >= 0) || max_wait_ms > 10000)
    bad("max_wait_ms: must be in [0, 10000], got " + format_config_double(max_wait_ms));
  if (max_queue_lines < 1) bad("max_queue_lines: must be >= 1, got " + std::to_string(max_queue_lines));
}

struct TranslationService::Job {
  ServiceRequest request;
  std::string key;
  int64_t tokens = 0;
  Clock::time_point arrived;
  std::promise<ServiceResult> promise;
};

TranslationService::TranslationService(const std::function<LoadedModel()>& load, const ServiceOptions& options)
    : options_(options) {
  options_.validate();
  const int64_t cores = options_.threads > 0 ? options_.threads : hardware_threads();
  intra_threads_ = std::max<int64_t>(1, cores / options_.replicas);
  for (int64_t r = 0; r < options_.replicas; ++r) replicas_.push_back(std::make_unique<LoadedModel>(load()));
  if (options_.batch_tokens == 0) options_.batch_tokens = model().config.search.batch_tokens;
  for (size_t r = 0; r < replicas_.size(); ++r) workers_.emplace_back([this, r] { decode_loop(r); });
}

TranslationService::~TranslationService() { shutdown(); }

int64_t TranslationService::queued_lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_lines_;
}

std::future<ServiceResult> TranslationService::submit(ServiceRequest request) {
  request.options.search.validate();
  const auto lines = static_cast<int64_t>(request.lines.size());
  if (lines > options_.max_queue_lines)
    throw std::invalid_argument("a request may hold at most " + std::to_string(options_.max_queue_lines) +
                                " lines, got " + std::to_string(lines));
  auto job = std::make_shared<Job>();
  job->key = batch_key(request.options);
  // The batch budget counts subword tokens, as the search's batches do (an estimate is not needed:
  // encoding is cheap next to decoding, and a tokenizer is safe to share between threads).
  for (const auto& line : request.lines) {
    std::string text = line;
    if (request.options.prefix) text = text.substr(0, text.find('\t'));
    if (request.options.replace_invalid) text = replace_invalid_utf8(text);
    job->tokens += static_cast<int64_t>(model().tok.src->encode(text).size());
  }
  job->request = std::move(request);
  job->arrived = Clock::now();
  auto future = job->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw std::runtime_error("the service is shutting down");
    if (queued_lines_ + lines > options_.max_queue_lines)
      throw QueueFull("the queue is full (" + std::to_string(queued_lines_) + " lines waiting)");
    queued_lines_ += lines;
    queue_.push_back(std::move(job));
  }
  wake_.notify_all();
  return future;
}

void TranslationService::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  workers_.clear();
}

std::vector<std::shared_ptr<TranslationService::Job>> TranslationService::take_batch() {
  // Called when this replica's decoder is free. The window for joining opens when a request waits
  // and the decoder is free: measured from the first request's arrival alone, requests that queued
  // behind a long batch would leave at once in a half-full batch while the clients of the batch just
  // answered are still sending their next requests (with closed-loop clients the batches then split
  // into two alternating halves).
  const auto free_since = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  std::vector<std::shared_ptr<Job>> batch;
  if (queue_.empty()) return batch;  // stopping and drained
  auto take = [&](std::deque<std::shared_ptr<Job>>::iterator it) {
    queued_lines_ -= static_cast<int64_t>((*it)->request.lines.size());
    batch.push_back(std::move(*it));
    return queue_.erase(it);
  };
  take(queue_.begin());
  int64_t tokens = batch.front()->tokens;
  const std::string key = batch.front()->key;
  const auto wait_until = std::max(batch.front()->arrived, free_since) +
                          std::chrono::microseconds(static_cast<int64_t>(options_.max_wait_ms * 1000));
  for (;;) {
    // Later requests with the same options join in arrival order while the budget allows; the
    // others keep their place in the queue.
    for (auto it = queue_.begin(); it != queue_.end() && tokens < options_.batch_tokens;) {
      if ((*it)->key == key && tokens + (*it)->tokens <= options_.batch_tokens) {
        tokens += (*it)->tokens;
        it = take(it);
      } else {
        ++it;
      }
    }
    if (tokens >= options_.batch_tokens || stopping_ || Clock::now() >= wait_until) break;
    wake_.wait_until(lock, wait_until);
  }
  return batch;
}

void TranslationService::decode_loop(size_t replica) {
  // The intra-op threads of this replica (OpenMP's thread count is per calling thread).
  torch::set_num_threads(static_cast<int>(intra_threads_));
  torch::NoGradGuard no_grad;
  LoadedModel& run = *replicas_[replica];
  for (;;) {
    auto batch = take_batch();
    if (batch.empty()) return;
    const auto started = Clock::now();
    // Requests whose deadline passed are answered without decoding.
    std::vector<std::shared_ptr<Job>> live;
    for (auto& job : batch) {
      if (started > job->request.deadline)
        job->promise.set_exception(std::make_exception_ptr(
            RequestExpired("the request waited " + std::to_string(static_cast<int64_t>(ms_between(job->arrived, started))) +
                           " ms for a decoder, past its deadline")));
      else
        live.push_back(job);
    }
    if (live.empty()) continue;
    std::vector<std::string> lines;
    std::vector<int64_t> numbers;
    for (const auto& job : live)
      for (size_t i = 0; i < job->request.lines.size(); ++i) {
        lines.push_back(job->request.lines[i]);
        numbers.push_back(static_cast<int64_t>(i) + 1);
      }
    auto finish = [&](Job& job, std::vector<Translation> translations, Clock::time_point done, int64_t batch_lines,
                      int64_t batch_requests) {
      ServiceResult r;
      r.translations = std::move(translations);
      r.tokens = job.tokens;
      r.batch_lines = batch_lines;
      r.batch_requests = batch_requests;
      r.queue_ms = ms_between(job.arrived, started);
      r.decode_ms = ms_between(started, done);
      job.promise.set_value(std::move(r));
    };
    try {
      TranslateOptions options = live.front()->request.options;
      options.input_name = "request";
      // run.workers(): this replica alone, inside its precision's autocast scope (bf16).
      auto translations = translate_lines(run.workers(), run.tok, lines, numbers, options, run.device);
      const auto done = Clock::now();
      size_t at = 0;
      for (auto& job : live) {
        const size_t n = job->request.lines.size();
        std::vector<Translation> mine(std::make_move_iterator(translations.begin() + static_cast<std::ptrdiff_t>(at)),
                                      std::make_move_iterator(translations.begin() + static_cast<std::ptrdiff_t>(at + n)));
        at += n;
        finish(*job, std::move(mine), done, static_cast<int64_t>(lines.size()), static_cast<int64_t>(live.size()));
      }
    } catch (...) {
      // One request's failure must not fail the others that shared its batch: each alone again.
      for (auto& job : live) {
        try {
          TranslateOptions options = job->request.options;
          options.input_name = "request";
          auto translations = translate_lines(run.workers(), run.tok, job->request.lines, options, run.device, 1);
          finish(*job, std::move(translations), Clock::now(), static_cast<int64_t>(job->request.lines.size()), 1);
        } catch (...) {
          job->promise.set_exception(std::current_exception());
        }
      }
    }
  }
}

}  // namespace seqzoo
