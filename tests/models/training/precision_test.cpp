// Mixed precision on the CPU: which precisions autocast where, scopes that restore the autocast
// state, and every family's forward/backward under CPU bf16 autocast (logits near fp32, weights and
// gradients in fp32). The bf16 checks need a CPU with native bf16 (AVX512-BF16/AMX) and skip
// themselves elsewhere; the CUDA side is in test_trainer_cuda.cpp.
#include <catch2/catch.hpp>

#include "models/rnn/rnn_config.h"
#include "models/transformer/transformer_config.h"
#include <torch/torch.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "tools/app/config.h"
#include "models/registry.h"
#include "models/training/loss.h"
#include "models/training/precision.h"
#include "tests/models/training/mock_model.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

bool cpu_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

ModelConfig family_config(const std::string& name) {
  ModelConfig c;
  c.embed_dim = 32;
  c.dropout = 0.0;
  c.options<RnnConfig>().hidden_dim = 48;
  c.options<RnnConfig>().layers = 2;
  c.options<TransformerConfig>().d_model = 32;
  c.options<TransformerConfig>().ffn_dim = 64;
  c.options<TransformerConfig>().heads = 4;
  c.options<TransformerConfig>().encoder_layers = 2;
  c.options<TransformerConfig>().decoder_layers = 2;
  if (name == "transformer-prenorm" || name == "transformer-postnorm") {
    c.family = "transformer";
    c.options<TransformerConfig>().pre_norm = name == "transformer-prenorm";
  } else if (name == "seq2seq-lstm") {
    c.family = "seq2seq";
    c.options<RnnConfig>().cell = "lstm";
    c.options<RnnConfig>().bidirectional = true;
    c.options<RnnConfig>().context_every_step = true;
  } else if (name == "bahdanau-gru") {
    c.family = "attention";
    c.options<RnnConfig>().cell = "gru";
    c.options<RnnConfig>().bidirectional = true;
    c.options<AttentionConfig>().type = "bahdanau";
  } else {  // luong-<type>
    c.family = "attention";
    c.options<RnnConfig>().cell = "lstm";
    c.options<AttentionConfig>().type = name.substr(6);
  }
  return c;
}

}  // namespace

TEST_CASE("autocast_dtype: which precision autocasts on which device", "[training][precision]") {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  CHECK_FALSE(autocast_dtype("fp32", cpu).has_value());
  CHECK_FALSE(autocast_dtype("fp32", cuda).has_value());
  CHECK_FALSE(autocast_dtype("fp16", cpu).has_value());  // CPU autocast knows bf16 only
  CHECK(autocast_dtype("bf16", cuda) == c10::optional<torch::ScalarType>(torch::kBFloat16));
  CHECK(autocast_dtype("fp16", cuda) == c10::optional<torch::ScalarType>(torch::kHalf));
  CHECK(autocast_dtype("bf16", cpu).has_value() == cpu_has_native_bf16());
  CHECK_THROWS_WITH(autocast_dtype("int8", cpu), Catch::Contains("unknown precision 'int8'"));
}

TEST_CASE("AutocastScope: nested CPU scopes restore the autocast state", "[training][precision]") {
  REQUIRE_FALSE(cpu_autocast_enabled());
  {
    AutocastScope outer(true, c10::DeviceType::CPU, torch::kBFloat16);
    CHECK(cpu_autocast_enabled());
    {
      AutocastScope off(false, c10::DeviceType::CPU, torch::kBFloat16);  // a disabled scope does nothing
      CHECK(cpu_autocast_enabled());
      AutocastScope inner(true, c10::DeviceType::CPU, torch::kBFloat16);
      CHECK(cpu_autocast_enabled());
    }
    CHECK(cpu_autocast_enabled());
    auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
  }
  CHECK_FALSE(cpu_autocast_enabled());
  CHECK(torch::mm(torch::randn({4, 8}), torch::randn({8, 3})).scalar_type() == torch::kFloat);
}

TEST_CASE("every family under CPU bf16 autocast: logits near fp32, fp32 weights and gradients",
          "[training][precision]") {
  if (!cpu_has_native_bf16()) {
    WARN("this CPU has no native bf16 (AVX512-BF16/AMX): CPU autocast is not used here; skipped");
    return;
  }
  constexpr int64_t kVocab = 40;
  auto pairs = random_pairs(12, kVocab, 3, 9, 17);
  Batch batch = batches_of(pairs, 12).front();
  for (std::string name : {"transformer-prenorm", "transformer-postnorm", "seq2seq-lstm", "bahdanau-gru",
                           "luong-dot", "luong-general", "luong-concat"}) {
    INFO(name);
    torch::manual_seed(3);
    ModelPtr model = build_model(family_config(name), kVocab, kVocab);
    model->eval();
    torch::Tensor reference;
    {
      torch::NoGradGuard no_grad;
      reference = model->forward(batch);  // [B,T,V] fp32
    }
    torch::Tensor logits;
    LossSums sums;
    {
      AutocastScope autocast(true, c10::DeviceType::CPU, torch::kBFloat16);
      logits = model->forward(batch);
      sums = label_smoothed_loss(logits, batch.tgt_out, 0.1);
    }
    REQUIRE(reference.scalar_type() == torch::kFloat);
    // bf16 keeps 8 bits of mantissa: agreement to about 1% of the logits' range.
    const double range = reference.abs().max().item<double>();
    const double err = (logits.to(torch::kFloat) - reference).abs().max().item<double>();
    CHECK(err < 0.03 * range + 1e-3);
    CHECK(sums.loss.scalar_type() == torch::kFloat);
    CHECK(std::isfinite(sums.loss.item<double>()));
    sums.loss.backward();
    for (const auto& p : model->named_parameters()) {
      INFO(p.key());
      CHECK(p.value().scalar_type() == torch::kFloat);
      REQUIRE(p.value().grad().defined());
      CHECK(p.value().grad().scalar_type() == torch::kFloat);
      CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
    }
  }
}
