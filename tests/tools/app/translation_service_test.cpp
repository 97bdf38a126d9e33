// TranslationService (the serving use-case without HTTP) in-process, over a tiny untrained
// Transformer: shared batches answer as translate_lines answers each request alone, the batching
// window, the bounded queue, deadlines and shutdown.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "models/registry.h"
#include "tests/data/fixtures.h"
#include "tests/models/transformer/transformer_test_util.h"
#include "tools/app/translation.h"
#include "tools/app/translation_service.h"

using namespace seqzoo;
using namespace std::chrono_literals;

namespace {

// The same weights on every call (a replica is a copy of the model, as load_run gives each one).
LoadedModel tiny_model() {
  LoadedModel run;
  run.tok = testing::shared_tokenizer().tok;
  run.config.search.batch_tokens = 4096;
  torch::manual_seed(5);
  run.model = build_model(tiny_transformer_config(true, true), run.tok.src->vocab_size(), run.tok.tgt->vocab_size());
  run.model->eval();
  return run;
}

TranslateOptions beam(int64_t size) {
  TranslateOptions o;
  o.search.beam_size = size;
  o.search.max_len_a = 0;
  o.search.max_len_b = 12;
  return o;
}

// What a request's lines get from translate_lines alone (lines numbered 1..n).
std::vector<Translation> alone(const LoadedModel& run, const std::vector<std::string>& lines,
                               const TranslateOptions& options) {
  torch::NoGradGuard no_grad;
  TranslateOptions o = options;
  o.input_name = "request";
  return translate_lines(*run.model, run.tok, lines, o, run.device, 1);
}

void check_same(const std::vector<Translation>& got, const std::vector<Translation>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].nbest.size() == want[i].nbest.size());
    for (size_t k = 0; k < got[i].nbest.size(); ++k) {
      CHECK(got[i].nbest[k].text == want[i].nbest[k].text);
      // Only the rounding of a score depends on the sentences that shared its batch.
      CHECK(got[i].nbest[k].score == Approx(want[i].nbest[k].score).margin(1e-4));
    }
  }
}

}  // namespace

TEST_CASE("translation service: concurrent requests share batches and get what each gets alone", "[serve]") {
  const auto sentences = testing::generated_sentences(24, true, 31);
  ServiceOptions so;
  so.replicas = 2;
  so.threads = 2;
  so.max_wait_ms = 200;
  TranslationService service(tiny_model, so);
  const LoadedModel reference = tiny_model();

  // Requests of 1-3 lines from 8 client threads, two kinds of options (they never share a batch).
  std::vector<std::vector<std::string>> requests;
  for (size_t at = 0; at < sentences.size();) {
    const size_t n = std::min<size_t>(1 + requests.size() % 3, sentences.size() - at);
    requests.emplace_back(sentences.begin() + static_cast<std::ptrdiff_t>(at),
                          sentences.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  std::vector<ServiceResult> results(requests.size());
  std::vector<std::thread> clients;
  for (size_t c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      for (size_t r = c; r < requests.size(); r += 8)
        results[r] = service.submit({requests[r], beam(r % 2 ? 3 : 1)}).get();
    });
  for (auto& t : clients) t.join();

  int64_t shared = 0;
  for (size_t r = 0; r < requests.size(); ++r) {
    INFO("request " << r);
    check_same(results[r].translations, alone(reference, requests[r], beam(r % 2 ? 3 : 1)));
    CHECK(results[r].tokens > 0);
    CHECK(results[r].batch_lines >= static_cast<int64_t>(requests[r].size()));
    if (results[r].batch_requests > 1) ++shared;
  }
  CHECK(shared > 0);
  CHECK(service.queued_lines() == 0);
}

TEST_CASE("translation service: requests arriving within the window join the free decoder's batch", "[serve]") {
  ServiceOptions so;
  so.max_wait_ms = 400;
  TranslationService service(tiny_model, so);
  const auto sentences = testing::generated_sentences(4, true, 32);
  auto first = service.submit({{sentences[0]}, beam(2)});
  std::this_thread::sleep_for(50ms);  // the decoder holds the first request and waits for company
  std::vector<std::future<ServiceResult>> later;
  for (size_t i = 1; i < sentences.size(); ++i) later.push_back(service.submit({{sentences[i]}, beam(2)}));
  const ServiceResult r = first.get();
  CHECK(r.batch_requests == 4);
  CHECK(r.batch_lines == 4);
  for (auto& f : later) CHECK(f.get().batch_requests == 4);

  // A budget of one sentence's tokens: no one joins.
  ServiceOptions tight = so;
  tight.batch_tokens = 1;
  tight.max_wait_ms = 0;
  TranslationService alone_service(tiny_model, tight);
  auto a = alone_service.submit({{sentences[0]}, beam(2)});
  auto b = alone_service.submit({{sentences[1]}, beam(2)});
  CHECK(a.get().batch_requests == 1);
  CHECK(b.get().batch_requests == 1);
}

TEST_CASE("translation service: a full queue refuses, a late request expires, shutdown drains", "[serve]") {
  const auto sentences = testing::generated_sentences(6, true, 33);
  ServiceOptions so;
  so.max_queue_lines = 3;
  so.max_wait_ms = 10000;  // the decoder keeps the first request waiting for company until shutdown
  so.batch_tokens = 100000;
  TranslationService service(tiny_model, so);

  CHECK_THROWS_AS(service.submit({{sentences[0], sentences[1], sentences[2], sentences[3]}, beam(1)}),
                  std::invalid_argument);  // larger than the whole queue
  auto a = service.submit({{sentences[0]}, beam(1)});
  // Other options: they wait in the queue (2 lines) whether or not the decoder took a's line yet.
  auto b = service.submit({{sentences[1], sentences[2]}, beam(2)});
  CHECK_THROWS_AS(service.submit({{sentences[3], sentences[4]}, beam(2)}), QueueFull);
  // 2 lines: refused whether a's line still waits (1 + 2 + 2) or the decoder holds it (2 + 2).
  ServiceRequest late{{sentences[5], sentences[4]}, beam(1)};
  late.deadline = std::chrono::steady_clock::now() - 1s;
  CHECK_THROWS_AS(service.submit(late), QueueFull);  // still full: nothing was decoded yet

  TranslateOptions bad = beam(1);
  bad.search.beam_size = 0;
  CHECK_THROWS_AS(service.submit({{sentences[0]}, bad}), std::invalid_argument);

  service.shutdown();  // stops the window, decodes what is queued, joins
  const LoadedModel reference = tiny_model();
  check_same(a.get().translations, alone(reference, {sentences[0]}, beam(1)));
  check_same(b.get().translations, alone(reference, {sentences[1], sentences[2]}, beam(2)));
  CHECK(service.queued_lines() == 0);
  CHECK_THROWS_AS(service.submit({{sentences[0]}, beam(1)}), std::runtime_error);
  service.shutdown();  // idempotent

  ServiceOptions quick;
  TranslationService fresh(tiny_model, quick);
  auto expired = fresh.submit(std::move(late));
  CHECK_THROWS_AS(expired.get(), RequestExpired);
  CHECK(fresh.submit({{sentences[0]}, beam(1)}).get().translations.size() == 1);  // serving goes on
}

TEST_CASE("translation service: options out of range name the field", "[serve]") {
  ServiceOptions o;
  o.replicas = 0;
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("replicas"));
  o = ServiceOptions();
  o.max_wait_ms = -1;
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("max_wait_ms"));
  o = ServiceOptions();
  o.max_queue_lines = 0;
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("max_queue_lines"));
}
