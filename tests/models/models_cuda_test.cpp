// The three families on the GPU: stepping equals forward, padding changes nothing, and the GPU
// computes what the CPU computes (same weights). Tagged [cuda]: run with `seqzoo_tests "[cuda]"` on
// a machine with a GPU; elsewhere each case says so and returns. TF32 is switched off so float32
// means float32 (cuDNN's RNNs would otherwise use it on Ampere and later).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/core/registry.h"
#include "tests/models/rnn/rnn_test_util.h"
#include "tests/models/transformer/transformer_test_util.h"

using namespace seqzoo;
using namespace seqzoo::rnn_test;

namespace {

constexpr double kTol = 1e-4;

struct Case {
  std::string name;
  ModelConfig config;
};

// One or two variants of each family, covering cells, scorers, bidirectional encoders and both
// Transformer norm placements.
std::vector<Case> cases() {
  std::vector<Case> out;
  Variant v;
  v.family = "seq2seq", v.cell = "lstm", v.bidirectional = true, v.reverse_source = true;
  v.context_every_step = true;
  out.push_back({v.name(), v.config()});
  v = Variant();
  v.family = "seq2seq", v.cell = "gru";
  out.push_back({v.name(), v.config()});
  v = Variant();
  v.family = "attention", v.attention = "bahdanau", v.cell = "gru", v.bidirectional = true;
  out.push_back({v.name(), v.config()});
  v = Variant();
  v.family = "attention", v.attention = "general", v.cell = "lstm", v.input_feeding = true;
  out.push_back({v.name(), v.config()});
  v = Variant();
  v.family = "attention", v.attention = "dot", v.cell = "lstm", v.tie = true, v.hidden = 8, v.layers = 1;
  out.push_back({v.name(), v.config()});
  for (bool pre_norm : {true, false})
    out.push_back({std::string("transformer ") + (pre_norm ? "pre-norm" : "post-norm"),
                   tiny_transformer_config(pre_norm, /*tie=*/true)});
  return out;
}

bool have_cuda() {
  if (torch::cuda::is_available()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    return true;
  }
  WARN("no CUDA device: skipped");
  return false;
}

// log-probs [B,T,V] from stepping over tgt_in after encode().
torch::Tensor run_steps(Seq2SeqModelImpl& model, const Batch& batch) {
  auto state = model.encode(batch.src, batch.src_len);
  std::vector<torch::Tensor> lps;
  for (int64_t t = 0; t < batch.tgt_in.size(1); ++t) lps.push_back(model.step(batch.tgt_in.select(1, t), state));
  return torch::stack(lps, 1);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU) - b.to(torch::kCPU)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("every family on CUDA: step reproduces forward, padding changes nothing, CPU agrees", "[cuda]") {
  if (!have_cuda()) return;
  const torch::Device cuda(torch::kCUDA, 0);
  torch::manual_seed(3);
  auto sources = random_sentences({6, 2, 4, 9});
  auto targets = random_sentences({5, 7, 1, 3});
  for (const auto& c : cases()) {
    INFO(c.name);
    torch::manual_seed(4);
    ModelPtr model = build_model(c.config, kVocab, kVocab);
    model->eval();
    torch::NoGradGuard no_grad;
    const Batch cpu_batch = make_batch(sources, targets, /*extra_src_pad=*/2);
    const torch::Tensor cpu_logits = model->forward(cpu_batch);  // [B,T,V]

    model->to(cuda);
    const Batch batch = cpu_batch.to(cuda);
    const torch::Tensor logits = model->forward(batch);
    REQUIRE(logits.device().is_cuda());
    CHECK(max_diff(logits, cpu_logits) < kTol);  // the GPU computes what the CPU computes

    const torch::Tensor stepped = run_steps(*model, batch);  // [B,T,V]
    REQUIRE(stepped.device().is_cuda());
    CHECK(max_diff(stepped, torch::log_softmax(logits, -1)) < kTol);

    for (size_t i = 0; i < sources.size(); ++i) {
      INFO("sentence " << i);
      const Batch alone = make_batch({sources[i]}, {targets[i]}).to(cuda);
      const int64_t t = alone.tgt_in.size(1);
      CHECK(max_diff(model->forward(alone)[0], logits[static_cast<int64_t>(i)].narrow(0, 0, t)) < kTol);
      CHECK(max_diff(run_steps(*model, alone)[0], stepped[static_cast<int64_t>(i)].narrow(0, 0, t)) < kTol);
    }
  }
}
