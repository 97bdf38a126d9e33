// Tests of the Transformer family (models/transformer/) that only it has: the layout of its decoder
// state (source entries, key/value caches), its attention entry, tying, its config errors, and a
// hidden training-throughput benchmark. What every family must do (step == forward, padding, beam
// reorder and expansion, gradients, overfitting) is the model contract, tests/models/core/model_test.cpp.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "data/batch.h"
#include "models/registry.h"
#include "models/transformer/transformer.h"
#include "models/transformer/transformer_config.h"
#include "tests/models/transformer/transformer_test_util.h"

using namespace seqzoo;

namespace {

std::shared_ptr<TransformerModelImpl> make(const ModelConfig& c, int64_t src_vocab, int64_t tgt_vocab) {
  auto m = std::dynamic_pointer_cast<TransformerModelImpl>(make_transformer(c, src_vocab, tgt_vocab));
  REQUIRE(m != nullptr);
  return m;
}

// Random padded batch: real tokens in [4, vocab), lengths as given.
Batch make_batch(const std::vector<int64_t>& src_lens, const std::vector<int64_t>& tgt_lens,
                 int64_t src_vocab, int64_t tgt_vocab) {
  const int64_t b = static_cast<int64_t>(src_lens.size());
  const int64_t s = *std::max_element(src_lens.begin(), src_lens.end());
  const int64_t t = *std::max_element(tgt_lens.begin(), tgt_lens.end()) + 1;  // + bos / eos
  Batch batch;
  batch.src = torch::full({b, s}, kPadId, torch::kInt64);
  batch.tgt_in = torch::full({b, t}, kPadId, torch::kInt64);
  batch.tgt_out = torch::full({b, t}, kPadId, torch::kInt64);
  batch.src_len = torch::tensor(src_lens, torch::kInt64);
  std::vector<int64_t> tl;
  for (int64_t i = 0; i < b; ++i) {
    batch.src[i].narrow(0, 0, src_lens[i]).copy_(torch::randint(4, src_vocab, {src_lens[i]}, torch::kInt64));
    auto y = torch::randint(4, tgt_vocab, {tgt_lens[i]}, torch::kInt64);
    batch.tgt_in[i][0] = kBosId;
    batch.tgt_in[i].narrow(0, 1, tgt_lens[i]).copy_(y);
    batch.tgt_out[i].narrow(0, 0, tgt_lens[i]).copy_(y);
    batch.tgt_out[i][tgt_lens[i]] = kEosId;
    tl.push_back(tgt_lens[i] + 1);
    batch.src_tokens += src_lens[i];
    batch.tgt_tokens += tgt_lens[i] + 1;
  }
  batch.tgt_len = torch::tensor(tl, torch::kInt64);
  return batch;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

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
  c.options<TransformerConfig>().d_model = 256;
  c.options<TransformerConfig>().ffn_dim = 1024;
  c.options<TransformerConfig>().heads = 4;
  c.options<TransformerConfig>().encoder_layers = 3;
  c.options<TransformerConfig>().decoder_layers = 3;
  c.options<TransformerConfig>().pre_norm = pre_norm;
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

TEST_CASE("transformer: encode and step keep the documented state (source entries, growing caches)",
          "[models][transformer]") {
  const bool pre_norm = GENERATE(true, false);
  const bool tie = GENERATE(true, false);
  const int64_t src_vocab = GENERATE(20, 23);  // 20 = joint (three-way tying when tied)
  const int64_t tgt_vocab = 20;
  CAPTURE(pre_norm, tie, src_vocab);
  torch::manual_seed(1);
  auto model = make(tiny_transformer_config(pre_norm, tie), src_vocab, tgt_vocab);
  model->eval();
  torch::NoGradGuard no_grad;
  CHECK(model->family() == "transformer");
  CHECK(model->ties_output() == tie);
  CHECK(model->shares_source_embedding() == (tie && src_vocab == tgt_vocab));

  auto batch = make_batch({5, 3, 7}, {6, 2, 4}, src_vocab, tgt_vocab);
  auto state = model->encode(batch.src, batch.src_len);
  CHECK(state.step == 0);
  CHECK(state.at("src_mask").scalar_type() == torch::kBool);
  CHECK(state.at("cross_k_1").sizes() == torch::IntArrayRef({3, 2, 7, 8}));
  // The encoder side is shared by a sentence's hypotheses: source entries, never expanded.
  CHECK(state.is_source("src_mask"));
  CHECK(state.is_source("cross_k_1"));
  CHECK(state.is_source("cross_v_0"));
  CHECK_FALSE(state.is_source("self_k_0"));
  {
    DecoderState beams = state;
    beams.repeat_interleave(4);  // before any step: the caches are still empty
    CHECK(beams.at("self_k_0").sizes() == torch::IntArrayRef({3 * 4, 2, 0, 8}));
    CHECK(beams.at("cross_k_1").sizes() == torch::IntArrayRef({3, 2, 7, 8}));
  }
  for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) {
    auto lp = model->step(batch.tgt_in.select(1, t), state);  // [B,V]
    REQUIRE(lp.sizes() == torch::IntArrayRef({3, tgt_vocab}));
    CHECK(state.step == t + 1);
    CHECK(state.at("self_k_0").size(2) == t + 1);  // the cache grows one position per step
    CHECK(state.at("self_v_1").sizes() == torch::IntArrayRef({3, 2, t + 1, 8}));
  }
  // A sentence leaving the beam takes its source entries along.
  state.repeat_interleave(2);
  state.reorder(torch::tensor({1, 0, 5, 5}, torch::kInt64), torch::tensor({0, 2}, torch::kInt64));
  CHECK(state.at("cross_k_0").size(0) == 2);
  CHECK(state.at("self_k_0").size(0) == 4);
}

TEST_CASE("transformer: attention entry is a distribution over real source tokens",
          "[models][transformer]") {
  torch::manual_seed(3);
  const int64_t v = 20;
  auto model = make(tiny_transformer_config(true, true), v, v);
  model->eval();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({6, 2, 4}, {3, 3, 3}, v, v);
  auto state = model->encode(batch.src, batch.src_len);
  CHECK_FALSE(state.contains("attention"));
  auto valid = batch.src.ne(kPadId);
  for (int64_t t = 0; t < 4; ++t) {
    model->step(batch.tgt_in.select(1, t), state);
    REQUIRE(state.contains("attention"));
    auto a = state.at("attention");  // [N,S]
    REQUIRE(a.sizes() == torch::IntArrayRef({3, 6}));
    CHECK(max_diff(a.sum(-1), torch::ones({3})) < 1e-5);
    CHECK(a.masked_select(valid.logical_not()).abs().max().item<float>() == 0.0f);
    CHECK(a.ge(0).all().item<bool>());
  }
}

TEST_CASE("transformer: gradients reach every layer, but not the embedding's padding row",
          "[models][transformer]") {
  const bool pre_norm = GENERATE(true, false);
  const bool tie = GENERATE(true, false);
  const std::string act = GENERATE(std::string("relu"), std::string("gelu"));
  CAPTURE(pre_norm, tie, act);
  torch::manual_seed(5);
  auto model = make(tiny_transformer_config(pre_norm, tie, act), 20, 20);
  model->train();
  auto batch = make_batch({5, 3, 7}, {6, 2, 4}, 20, 20);
  auto logits = model->forward(batch);
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), batch.tgt_out.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
  loss.backward();
  int64_t checked = 0;
  for (const auto& p : model->named_parameters()) {
    CAPTURE(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
    ++checked;
  }
  // 2 encoder layers x 12 + 2 decoder layers x 20 tensors, plus embeddings/output/final norms
  CHECK(checked >= 64);
  // the padding row of the embedding never learns from lookups
  if (!tie) CHECK(model->src_embed->weight.grad()[kPadId].abs().sum().item<double>() == 0.0);
}

TEST_CASE("transformer: tying shares tensors", "[models][transformer]") {
  auto joint_tied = make(tiny_transformer_config(true, true), 20, 20);
  auto split_tied = make(tiny_transformer_config(true, true), 23, 20);
  auto untied = make(tiny_transformer_config(true, false), 20, 20);
  CHECK(joint_tied->src_embed.ptr() == joint_tied->tgt_embed.ptr());
  CHECK(joint_tied->output_projection.is_empty());
  CHECK(split_tied->src_embed.ptr() != split_tied->tgt_embed.ptr());
  CHECK_FALSE(untied->output_projection.is_empty());
  const int64_t emb = 20 * 16;
  CHECK(count_parameters(*split_tied) - count_parameters(*joint_tied) == 23 * 16);
  CHECK(count_parameters(*untied) - count_parameters(*joint_tied) == 2 * emb);
  // the named parameters list each tensor once (no double updates by an optimizer)
  CHECK(joint_tied->parameters().size() == joint_tied->named_parameters().size());
  int64_t total = 0;
  for (const auto& p : joint_tied->parameters()) total += p.numel();
  CHECK(total == count_parameters(*joint_tied));
  // fairseq initialisation: pad row zero, std ~ d^-0.5
  CHECK(untied->tgt_embed->weight[kPadId].abs().sum().item<double>() == 0.0);
}

TEST_CASE("transformer: registry and config errors", "[models][transformer]") {
  auto c = tiny_transformer_config(true, true);
  auto m = build_model(c, 20, 20);
  CHECK(m->family() == "transformer");
  c.options<TransformerConfig>().heads = 3;
  CHECK_THROWS_AS(build_model(c, 20, 20), std::invalid_argument);
  c = tiny_transformer_config(true, true, "swish");
  CHECK_THROWS_AS(build_model(c, 20, 20), std::invalid_argument);
  c = tiny_transformer_config(true, true);
  c.options<TransformerConfig>().decoder_layers = 0;
  CHECK_THROWS_AS(build_model(c, 20, 20), std::invalid_argument);
}


// Throughput benchmark (hidden: run with `seqzoo_tests "[transformer-bench]"`): training
// forward + backward + Adam update on a synthetic batch at the benchmark size (d_model 256,
// 3+3 layers, 4 heads, FFN 1024, vocab 8000, ~4096 target tokens), 2 intra-op threads.
// On a busy machine run it with OMP_WAIT_POLICY=passive: spinning OpenMP workers otherwise fight
// OpenBLAS's own threads and whatever else runs, and the wall time measures that fight.
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
