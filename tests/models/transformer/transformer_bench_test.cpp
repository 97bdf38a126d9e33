// Throughput benchmark (hidden: run with `seqzoo_tests "[transformer-bench]"`): training
// forward + backward + Adam update on a synthetic batch at the benchmark size (d_model 256,
// 3+3 layers, 4 heads, FFN 1024, vocab 8000, ~4096 target tokens), 2 intra-op threads.
// On a busy machine run it with OMP_WAIT_POLICY=passive: spinning OpenMP workers otherwise fight
// OpenBLAS's own threads and whatever else runs, and the wall time measures that fight.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <iostream>

#include <sys/resource.h>

#include "data/batch.h"
#include "models/transformer/transformer.h"

using namespace seqzoo;

namespace {

// Process CPU time (all threads), seconds.
double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

double bench(int64_t b, int64_t s, int64_t t, bool pre_norm, int iters) {
  ModelConfig c;
  c.family = "transformer";
  c.dropout = 0.1;
  c.tie_embeddings = true;
  c.transformer.d_model = 256;
  c.transformer.ffn_dim = 1024;
  c.transformer.heads = 4;
  c.transformer.encoder_layers = 3;
  c.transformer.decoder_layers = 3;
  c.transformer.pre_norm = pre_norm;
  const int64_t v = 8000;
  auto model = make_transformer(c, v, v);
  model->train();
  Batch batch;
  batch.src = torch::randint(4, v, {b, s}, torch::kInt64);
  batch.src_len = torch::full({b}, s, torch::kInt64);
  batch.tgt_in = torch::randint(4, v, {b, t}, torch::kInt64);
  batch.tgt_out = torch::randint(4, v, {b, t}, torch::kInt64);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-4));
  auto run = [&] {
    opt.zero_grad();
    auto logits = model->forward(batch);
    auto loss = torch::nn::functional::cross_entropy(
        logits.view({-1, v}), batch.tgt_out.view({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId).label_smoothing(0.1));
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  run();  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds();
  for (int i = 0; i < iters; ++i) run();
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
  const double cpu = (cpu_seconds() - c0) / iters;
  const double tps = static_cast<double>(b * t) / sec;
  std::cout << "transformer train B=" << b << " S=" << s << " T=" << t
            << (pre_norm ? " pre-norm" : " post-norm") << ": " << sec << " s/batch wall, " << cpu
            << " s/batch CPU, " << tps << " target tokens/s\n";
  return tps;
}

}  // namespace

TEST_CASE("transformer training throughput", "[.][bench][transformer-bench]") {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  const double a = bench(256, 16, 16, true, 3);
  const double b = bench(128, 32, 32, true, 3);
  const double c = bench(256, 16, 16, false, 3);
  CHECK(a > 0);
  CHECK(b > 0);
  CHECK(c > 0);
}
