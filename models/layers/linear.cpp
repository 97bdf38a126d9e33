#include "models/layers/linear.h"

#include "models/layers/packed_matmul.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace seqzoo {
namespace {

// The packed copies (int8, or fp32/bf16 in oneDNN's layout), by the weight they stand for. The weak
// reference tells a live weight from a freed one whose address was reused.
struct Packed {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> weight;
  c10::intrusive_ptr<LinearPackedParamsBase> params;  // int8 in LibTorch's quantized engine
  std::shared_ptr<const PackedMatmul> dense;           // fp32 / bf16 / int8 in oneDNN's layout
};

struct Registry {
  std::shared_mutex mutex;
  std::unordered_map<const c10::TensorImpl*, Packed> packed;
  std::atomic<bool> any{false};  // the fast path of unquantized models: no lock taken
};

Registry& registry() {
  static Registry r;
  return r;
}

// A weight's packed copies (both empty when it has none).
struct Found {
  c10::intrusive_ptr<LinearPackedParamsBase> params;
  std::shared_ptr<const PackedMatmul> dense;
};

Found find_packed(const torch::Tensor& weight) {
  Registry& r = registry();
  if (!r.any.load(std::memory_order_acquire)) return {};
  std::shared_lock<std::shared_mutex> lock(r.mutex);
  auto it = r.packed.find(weight.unsafeGetTensorImpl());
  if (it == r.packed.end() || it->second.weight.expired()) return {};
  return {it->second.params, it->second.dense};
}

// The matrices of a unidirectional GRU or LSTM (weight_ih_l*, weight_hh_l*): their single-step
// path (a decoder step, models/rnn/recurrent.h) multiplies through seqzoo::linear. Bidirectional
// ones (encoders) run whole sequences in LibTorch and are not packed.
template <typename Rnn>
void add_rnn_weights(torch::nn::Module* m, std::vector<torch::Tensor>& weights) {
  auto* rnn = dynamic_cast<Rnn*>(m);
  if (rnn == nullptr || rnn->options.bidirectional()) return;
  for (const auto& p : rnn->named_parameters(/*recurse=*/false))
    if (p.key().rfind("weight_", 0) == 0) weights.push_back(p.value());
}

// The weight of every Linear in `model` (itself included), every tied weight a module lists and
// every unidirectional RNN matrix, each once.
std::vector<torch::Tensor> packable_weights(torch::nn::Module& model) {
  std::vector<torch::Tensor> weights;
  std::vector<torch::nn::Module*> all = {&model};  // (modules(true) needs a model held by a shared_ptr)
  for (const auto& m : model.modules(/*include_self=*/false)) all.push_back(m.get());
  for (auto* m : all) {
    if (auto* l = dynamic_cast<torch::nn::LinearImpl*>(m)) weights.push_back(l->weight);
    if (auto* t = dynamic_cast<TiedWeights*>(m))
      for (const auto& w : t->tied_weights()) weights.push_back(w);
    add_rnn_weights<torch::nn::GRUImpl>(m, weights);
    add_rnn_weights<torch::nn::LSTMImpl>(m, weights);
  }
  std::vector<torch::Tensor> unique;
  for (const auto& w : weights)
    if (std::none_of(unique.begin(), unique.end(), [&](const torch::Tensor& u) { return u.is_same(w); }))
      unique.push_back(w);
  return unique;
}

// Registers packed[i] for weights[i], replacing what they had, and drops entries of freed weights.
void register_packed(const std::vector<torch::Tensor>& weights, std::vector<Packed> packed) {
  Registry& r = registry();
  std::unique_lock<std::shared_mutex> lock(r.mutex);
  for (auto it = r.packed.begin(); it != r.packed.end();)
    it = it->second.weight.expired() ? r.packed.erase(it) : std::next(it);
  for (size_t i = 0; i < weights.size(); ++i) r.packed.insert_or_assign(weights[i].unsafeGetTensorImpl(), std::move(packed[i]));
  r.any.store(true, std::memory_order_release);
}

c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> weak(const torch::Tensor& w) {
  return c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(w.getIntrusivePtr());
}

// The quantized engine that packs dynamic linear weights, or NoQEngine.
at::QEngine int8_engine() {
  const auto& supported = at::globalContext().supportedQEngines();
  for (auto engine : {at::QEngine::ONEDNN, at::QEngine::X86, at::QEngine::FBGEMM})
    for (auto s : supported)
      if (s == engine) return engine;
  return at::QEngine::NoQEngine;
}

c10::intrusive_ptr<LinearPackedParamsBase> pack_int8(const torch::Tensor& weight) {
  auto w = weight.detach().to(torch::kFloat32).contiguous();  // [out, in]
  auto scales = int8_row_scales(w).to(torch::kFloat64);
  auto zeros = torch::zeros({w.size(0)}, torch::kLong);
  auto q = torch::quantize_per_channel(w, scales, zeros, /*axis=*/0, torch::kQInt8);
  static auto prepack = c10::Dispatcher::singleton()
                            .findSchemaOrThrow("quantized::linear_prepack", "")
                            .typed<c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>)>();
  return prepack.call(q, c10::nullopt);
}

// Without VNNI, x86 int8 kernels add pairs of uint8 x int8 products in 16 bits (vpmaddubsw), which
// saturates on large inputs: there the inputs are quantized to 7 bits instead (PyTorch's
// reduce_range, for the same reason).
bool reduce_input_range() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool reduce = [] {
    __builtin_cpu_init();
    return !(__builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni"));
  }();
  return reduce;
#else
  return false;
#endif
}

}  // namespace

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.device().is_cpu() && !torch::GradMode::is_enabled()) {
    const Found packed = find_packed(weight);
    const bool dense = packed.dense && (x.scalar_type() == torch::kFloat32 ||
                                        (x.scalar_type() == torch::kBFloat16 && packed.dense->dtype() != torch::kInt8));
    const bool int8 = packed.params && x.scalar_type() == torch::kFloat32;
    if (dense || int8) {
      const int64_t in = weight.size(1);
      auto x2 = x.reshape({-1, in});
      torch::Tensor y;  // [rows, out]
      if (dense) {
        y = packed.dense->forward(x2, bias);
      } else {
        y = packed.params->apply_dynamic(x2.contiguous(), reduce_input_range());
        if (bias.defined()) y.add_(bias);
      }
      auto sizes = x.sizes().vec();
      sizes.back() = weight.size(0);
      return y.view(sizes);
    }
  }
  return torch::nn::functional::linear(x, weight, bias);
}

torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) {
  return seqzoo::linear(x, layer.weight, layer.bias);
}

torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) { return linear(*layer, x); }

bool int8_linear_available(const torch::Device& device) {
  return device.is_cpu() && (packed_matmul_available(torch::kInt8) || int8_engine() != at::QEngine::NoQEngine);
}

bool packed_linear_available(torch::ScalarType dtype, const torch::Device& device) {
  return device.is_cpu() && packed_matmul_available(dtype);
}

int64_t pack_linears(torch::nn::Module& model, torch::ScalarType dtype) {
  const auto weights = packable_weights(model);
  for (const auto& w : weights)
    if (!packed_linear_available(dtype, w.device()))
      throw std::invalid_argument(std::string("packing the linear layers: ") + c10::toString(dtype) +
                                  " products in oneDNN's layout are not available on " + w.device().str());
  std::vector<Packed> packed;
  for (const auto& w : weights) packed.push_back({weak(w), {}, std::make_shared<const PackedMatmul>(w, dtype)});
  if (!weights.empty()) register_packed(weights, std::move(packed));
  return static_cast<int64_t>(weights.size());
}

int64_t quantize_linears_int8(torch::nn::Module& model) {
  const auto weights = packable_weights(model);
  for (const auto& w : weights)
    if (!w.device().is_cpu())
      throw std::invalid_argument("int8: the model is on " + w.device().str() + "; int8 products run on the CPU");
  // oneDNN's int8 matmul directly where the CPU has VNNI: weights packed once, inputs quantized
  // per row at each call; else LibTorch's quantized engine.
  const bool direct = packed_matmul_available(torch::kInt8);
  if (!direct && int8_engine() == at::QEngine::NoQEngine)
    throw std::invalid_argument(
        "int8: this LibTorch has no quantized engine for dynamic linear layers (oneDNN or FBGEMM)");
  if (weights.empty()) return 0;
  // The engine is global state of LibTorch; a packed weight keeps the engine it was packed for.
  if (!direct) at::globalContext().setQEngine(int8_engine());
  std::vector<Packed> packed;
  for (const auto& w : weights)
    packed.push_back(direct ? Packed{weak(w), {}, std::make_shared<const PackedMatmul>(w, torch::kInt8)}
                            : Packed{weak(w), pack_int8(w), {}});
  register_packed(weights, std::move(packed));
  return static_cast<int64_t>(weights.size());
}

}  // namespace seqzoo
