#include "models/layers/packed_matmul.h"

#include <stdexcept>
#include <string>

#if defined(SEQZOO_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.hpp>
#if DNNL_VERSION_MAJOR == 2
#define SEQZOO_PACKED_MATMUL 1
#endif
#endif

#if defined(SEQZOO_PACKED_MATMUL)
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#endif

namespace seqzoo {

torch::Tensor int8_row_scales(const torch::Tensor& weight) {
  if (weight.dim() != 2) throw std::invalid_argument("int8 row scales: a 2-d weight [out, in] expected");
  return (weight.detach().to(torch::kFloat32).abs().amax(1) / 127.0).clamp_min(1e-12);
}

#if defined(SEQZOO_PACKED_MATMUL)

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// Primitives kept per packed matrix; beyond this many row counts the cache starts again.
constexpr size_t kMaxPrimitives = 256;

// The row count a primitive is built for: exact up to 32 rows (a decoder step of a few sentences),
// above that rounded up to a multiple of 16 (the extra rows are zeros, their results dropped), so
// that the varying batch shapes of a server or a batched search share a few kernels.
int64_t padded_rows(int64_t rows) { return rows <= 32 ? rows : (rows + 15) / 16 * 16; }

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dt dnnl_type(torch::ScalarType t) {
  if (t == torch::kFloat32) return dt::f32;
  if (t == torch::kBFloat16) return dt::bf16;
  if (t == torch::kInt8) return dt::s8;
  throw std::invalid_argument(std::string("packed matmul: no packed layout for ") + c10::toString(t));
}

bool native_bf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

// int8 products with VNNI (vpdpbusd: 4 int8 products summed into int32 without overflow).
bool native_int8() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto vnni = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_vnni);
  return (isa & vnni) == vnni;
}

// Symmetric quantization of the whole input: x ≈ scale * q, q in [-127, 127] (rounded half away
// from zero: plain arithmetic the compiler vectorizes, unlike a call to nearbyint per element), as
// PyTorch's dynamic quantization does (one scale per call). An input of zeros gets scale 1 and q = 0.
// Rows from x's end to q's end stay zero. Returns the scale.
float quantize_input(const torch::Tensor& x, torch::Tensor& q) {
  const int64_t n = x.numel();
  const float* px = x.data_ptr<float>();
  int8_t* pq = q.data_ptr<int8_t>();
  constexpr int64_t kGrain = 1 << 14;
  std::vector<float> chunk_max(static_cast<size_t>((n + kGrain - 1) / kGrain), 0.0f);
  at::parallel_for(0, static_cast<int64_t>(chunk_max.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      float amax = 0.0f;
      for (int64_t i = k * kGrain, stop = std::min(n, (k + 1) * kGrain); i < stop; ++i) amax = std::max(amax, std::fabs(px[i]));
      chunk_max[static_cast<size_t>(k)] = amax;
    }
  });
  const float amax = chunk_max.empty() ? 0.0f : *std::max_element(chunk_max.begin(), chunk_max.end());
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = std::clamp(px[i] * inv, -127.0f, 127.0f);
      pq[i] = static_cast<int8_t>(static_cast<int32_t>(v + (v >= 0.0f ? 0.5f : -0.5f)));
    }
  });
  return amax > 0.0f ? amax / 127.0f : 1.0f;
}

}  // namespace

struct PackedMatmul::Impl {
  int64_t in = 0, out = 0;
  dt type = dt::f32;
  dnnl::memory::desc weights_md;  // [in, out] in the kernels' blocked layout
  dnnl::memory weights;
  torch::Tensor weight_scale;     // int8: [out] fp32, row i of W ≈ weight_scale[i] * q_i
  struct Entry {
    dnnl::memory::desc src, dst, bias;
    dnnl::matmul primitive;
  };
  mutable std::shared_mutex mutex;
  mutable std::unordered_map<int64_t, std::shared_ptr<const Entry>> primitives;  // key: rows * 2 + has_bias

  // int8: s8 x s8 summed in s32, scaled to fp32 inside the kernel by one output scale per column,
  // given at each call (input scale x weight row scale; forward()).
  dnnl::matmul::primitive_desc describe(int64_t rows, bool bias, const dnnl::memory::desc& wmd) const {
    dnnl::memory::desc src({rows, in}, type, tag::ab), dst({rows, out}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    if (type == dt::s8) attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
    if (!bias) return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wmd, dst), attr, cpu_engine());
    dnnl::memory::desc b({1, out}, dt::f32, tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wmd, b, dst), attr, cpu_engine());
  }

  std::shared_ptr<const Entry> entry(int64_t rows, bool bias) const {
    const int64_t key = rows * 2 + (bias ? 1 : 0);
    {
      std::shared_lock<std::shared_mutex> lock(mutex);
      auto it = primitives.find(key);
      if (it != primitives.end()) return it->second;
    }
    // The weights' layout is fixed (packed once): each row count gets a kernel that reads it.
    auto pd = describe(rows, bias, weights_md);
    auto e = std::make_shared<Entry>();
    e->src = pd.src_desc();
    e->dst = pd.dst_desc();
    if (bias) e->bias = pd.bias_desc();
    e->primitive = dnnl::matmul(pd);
    std::unique_lock<std::shared_mutex> lock(mutex);
    if (primitives.size() >= kMaxPrimitives) primitives.clear();
    return primitives.emplace(key, std::move(e)).first->second;
  }
};

bool packed_matmul_available(torch::ScalarType dtype) {
  if (dtype == torch::kFloat32) return true;
  if (dtype == torch::kBFloat16) return native_bf16();
  if (dtype == torch::kInt8) return native_int8();
  return false;
}

PackedMatmul::PackedMatmul(const torch::Tensor& weight, torch::ScalarType dtype)
    : impl_(std::make_unique<Impl>()), dtype_(dtype) {
  if (!packed_matmul_available(dtype))
    throw std::invalid_argument(std::string("packed matmul: ") + c10::toString(dtype) +
                                " products are not available on this CPU");
  if (weight.dim() != 2 || !weight.device().is_cpu() || !weight.is_floating_point())
    throw std::invalid_argument("packed matmul: the weight must be a 2-d floating-point CPU tensor");
  Impl& m = *impl_;
  m.out = weight.size(0);
  m.in = weight.size(1);
  m.type = dnnl_type(dtype);
  // The layout the kernels prefer for a typical decoding row count; every row count reads it.
  m.weights_md = m.describe(32, false, dnnl::memory::desc({m.in, m.out}, m.type, tag::any)).weights_desc();
  torch::Tensor w;  // [out, in] = Wᵀ [in, out] with strides (1, in)
  if (dtype == torch::kInt8) {
    auto wf = weight.detach().to(torch::kFloat32).contiguous();
    m.weight_scale = int8_row_scales(wf);
    w = (wf / m.weight_scale.unsqueeze(1)).round().clamp(-127, 127).to(torch::kInt8).contiguous();
  } else {
    w = weight.detach().to(dtype).contiguous();
  }
  dnnl::memory plain(dnnl::memory::desc({m.in, m.out}, m.type, dnnl::memory::dims{1, m.in}), cpu_engine(),
                     w.data_ptr());
  m.weights = dnnl::memory(m.weights_md, cpu_engine());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(plain, m.weights).execute(stream, plain, m.weights);
  stream.wait();
}

PackedMatmul::~PackedMatmul() = default;

torch::Tensor PackedMatmul::forward(const torch::Tensor& x, const torch::Tensor& bias) const {
  const Impl& m = *impl_;
  if (x.dim() != 2 || x.size(1) != m.in)
    throw std::invalid_argument("packed matmul: input [rows, " + std::to_string(m.in) + "] expected");
  const int64_t rows = x.size(0);
  if (rows == 0) return torch::empty({0, m.out}, x.options().dtype(torch::kFloat32));
  const int64_t padded = padded_rows(rows);
  const bool int8 = dtype_ == torch::kInt8;
  torch::Tensor src, b, out_scale;
  if (bias.defined()) b = bias.to(torch::kFloat32).contiguous();
  if (int8) {  // dynamic quantization: one scale for the input
    src = padded == rows ? torch::empty({padded, m.in}, torch::kInt8) : torch::zeros({padded, m.in}, torch::kInt8);
    const float x_scale = quantize_input(x.to(torch::kFloat32).contiguous(), src);
    // y[r][n] = out_scale[n] * (Σ_k q_x[r][k] q_w[n][k] + b'[n]): oneDNN 2.x adds the bias to the
    // integer sums before scaling, so it is given divided by the scale.
    out_scale = m.weight_scale * x_scale;
    if (b.defined()) b = b / out_scale;
  } else if (padded == rows) {
    src = x.to(dtype_).contiguous();
  } else {
    src = torch::zeros({padded, m.in}, x.options().dtype(dtype_));
    src.narrow(0, 0, rows).copy_(x);
  }
  auto out = torch::empty({padded, m.out}, x.options().dtype(torch::kFloat32));
  auto e = m.entry(padded, b.defined());
  thread_local dnnl::stream stream(cpu_engine());
  dnnl::memory src_mem(e->src, cpu_engine(), src.data_ptr());
  dnnl::memory dst_mem(e->dst, cpu_engine(), out.data_ptr());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, m.weights}, {DNNL_ARG_DST, dst_mem}};
  if (b.defined()) args.emplace(DNNL_ARG_BIAS, dnnl::memory(e->bias, cpu_engine(), b.data_ptr()));
  if (int8)
    args.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES,
                 dnnl::memory(dnnl::memory::desc({m.out}, dt::f32, tag::a), cpu_engine(), out_scale.data_ptr()));
  e->primitive.execute(stream, args);
  stream.wait();
  return padded == rows ? out : out.narrow(0, 0, rows);  // leading rows: contiguous
}

#else  // built without oneDNN 2.x

struct PackedMatmul::Impl {};

bool packed_matmul_available(torch::ScalarType) { return false; }

PackedMatmul::PackedMatmul(const torch::Tensor&, torch::ScalarType dtype) : dtype_(dtype) {
  throw std::invalid_argument("packed matmul: seqzoo was built without oneDNN 2.x (Debian: libdnnl-dev)");
}

PackedMatmul::~PackedMatmul() = default;

torch::Tensor PackedMatmul::forward(const torch::Tensor&, const torch::Tensor&) const {
  throw std::logic_error("packed matmul: built without oneDNN");
}

#endif

}  // namespace seqzoo
