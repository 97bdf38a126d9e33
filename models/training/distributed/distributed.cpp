#include "models/training/distributed/distributed.h"

#include "data/common/text.h"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>
#include <unordered_set>
#include <utility>

// SEQZOO_HAVE_GLOO: CMake found the c10d headers; USE_C10D_GLOO: LibTorch was built with Gloo (an
// interface definition of its torch_cpu target; the header is empty without it).
#if defined(SEQZOO_HAVE_GLOO) && defined(USE_C10D_GLOO)
#define SEQZOO_C10D 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
// NCCL for CUDA tensors: a CUDA LibTorch defines USE_C10D_NCCL; its header needs nccl.h.
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define SEQZOO_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace seqzoo {

namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
  std::ostringstream out;
  if (ms.count() % 1000 == 0)
    out << ms.count() / 1000;
  else
    out << static_cast<double>(ms.count()) / 1000.0;
  return out.str() + " s";
}

// An exception's message as one line, without c10's backtrace.
std::string reason_of(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  const std::string text = one_line(c10_error ? c10_error->what_without_backtrace() : e.what());
  return text.empty() ? "unknown error" : text;
}

}  // namespace

// ---------------------------------------------------------------- the process group

#ifdef SEQZOO_C10D

bool distributed_available() { return true; }

namespace {
// The common base of ProcessGroupGloo and ProcessGroupNCCL: ProcessGroup in 1.x, Backend in 2.x.
#if TORCH_VERSION_MAJOR >= 2
using PgBase = c10d::Backend;
#else
using PgBase = c10d::ProcessGroup;
#endif

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.rfind("127.", 0) == 0;
}
}  // namespace

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<PgBase> group;
  std::string backend = "none";
  torch::Device comm_device = torch::kCPU;  // where collective buffers must live for the backend
  bool broken = false;
  std::string broken_message;
};

namespace {

// Runs the collectives that `launch` starts and waits for all of them, each bounded by the timeout
// (the backend's own timeout fires first; the wait's bound is a backstop). Any failure marks the
// group as broken: the ranks' collective sequences no longer match, so later calls throw at once.
void run_collectives(DistributedContext::Impl& impl, int rank, std::chrono::milliseconds timeout,
                     const std::function<std::vector<c10::intrusive_ptr<c10d::Work>>()>& launch) {
  if (impl.broken) throw std::runtime_error(impl.broken_message);
  try {
    auto works = launch();
    for (auto& work : works) work->wait(timeout + std::chrono::seconds(5));
  } catch (const std::exception& e) {
    impl.broken = true;
    impl.broken_message = "rank " + std::to_string(rank) + ": lost contact with the other ranks (timeout " +
                          seconds_text(timeout) + "): " + reason_of(e);
    throw std::runtime_error(impl.broken_message);
  }
}

}  // namespace

#else  // !SEQZOO_C10D

bool distributed_available() { return false; }

struct DistributedContext::Impl {
  std::string backend = "none";
};

#endif

DistributedContext::DistributedContext() = default;

DistributedContext::~DistributedContext() {
  try {
    shutdown();
  } catch (...) {
  }
}

std::string DistributedContext::backend() const { return impl_ ? impl_->backend : "none"; }

void DistributedContext::set_bucket_bytes(int64_t bytes) {
  if (bytes < 1) throw std::invalid_argument("bucket size must be >= 1 byte, got " + std::to_string(bytes));
  bucket_bytes_ = bytes;
}

bool DistributedContext::active() const {
  if (!distributed()) return false;
  if (!impl_)
    throw std::runtime_error("rank " + std::to_string(env_.rank) +
                             ": the distributed process group is not initialised (or was shut down)");
  return true;
}

void DistributedContext::shutdown() {
  // Destroying the group joins its worker threads (each bounded by the timeout), then the store.
  impl_.reset();
}

void DistributedContext::init(const DistributedEnv& env, torch::Device device, std::chrono::milliseconds timeout) {
  env.validate();
  if (timeout.count() <= 0) throw std::invalid_argument("distributed timeout must be positive");
  shutdown();
  env_ = env;
  timeout_ = timeout;
  device_ = device;
  if (device_.is_cuda() && !device_.has_index()) device_ = torch::Device(torch::kCUDA, env.local_rank);
  impl_ = std::make_unique<Impl>();
  if (env.world_size == 1) return;

#ifndef SEQZOO_C10D
  impl_.reset();
  throw std::runtime_error("rank " + std::to_string(env.rank) + ": WORLD_SIZE=" + std::to_string(env.world_size) +
                           " needs torch.distributed, but seqzoo was built without c10d/Gloo "
                           "(torch/csrc/distributed/c10d/ProcessGroupGloo.hpp not found)");
#else
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // 2.4+ defaults to the libuv server backend, which a LibTorch built without libuv (Debian's)
    // rejects; the classic backend is in every build and fine below thousands of ranks.
    store_options.useLibUV = false;
#endif
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);

#ifdef SEQZOO_NCCL
    if (device_.is_cuda()) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env.rank, env.world_size, options);
      impl_->backend = "nccl";
      impl_->comm_device = device_;
    }
#endif
    if (!impl_->group) {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0')
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(env.master_addr))
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
      impl_->backend = "gloo";
      impl_->comm_device = torch::kCPU;  // CUDA tensors are staged through host memory
    }
  } catch (const std::exception& e) {
    impl_.reset();
    throw std::runtime_error("rank " + std::to_string(env.rank) + ": rendezvous of " +
                             std::to_string(env.world_size) + " ranks at " + where + " failed (timeout " +
                             seconds_text(timeout) + "): " + reason_of(e));
  }
#endif
}

// ---------------------------------------------------------------- collectives

namespace {

// Tensors grouped into flat buckets: same dtype and device, at most ~bucket_bytes each (a tensor
// larger than that gets a bucket of its own). The grouping depends only on the shapes, so it is
// the same on every rank.
std::vector<std::vector<size_t>> make_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets;
  std::vector<int64_t> bytes;                                              // per bucket
  std::vector<std::pair<std::pair<c10::ScalarType, torch::Device>, size_t>> open;  // key -> bucket
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto key = std::make_pair(tensors[i].scalar_type(), tensors[i].device());
    auto slot = open.begin();
    while (slot != open.end() && slot->first != key) ++slot;
    if (slot == open.end() || bytes[slot->second] >= bucket_bytes) {
      buckets.emplace_back();
      bytes.push_back(0);
      if (slot == open.end())
        slot = open.insert(open.end(), {key, buckets.size() - 1});
      else
        slot->second = buckets.size() - 1;
    }
    buckets[slot->second].push_back(i);
    bytes[slot->second] += tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
  }
  return buckets;
}

torch::Tensor flatten(const std::vector<torch::Tensor>& tensors, const std::vector<size_t>& index) {
  std::vector<torch::Tensor> parts;
  parts.reserve(index.size());
  for (size_t i : index) parts.push_back(tensors[i].reshape({-1}));
  return parts.size() == 1 ? parts[0].clone() : torch::cat(parts);
}

}  // namespace

void DistributedContext::broadcast_parameters(torch::nn::Module& module, int root) {
  if (root < 0 || root >= env_.world_size)
    throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank");
  if (!active()) return;
#ifdef SEQZOO_C10D
  std::vector<torch::Tensor> tensors;
  std::unordered_set<const void*> seen;
  for (const auto& p : module.parameters())
    if (seen.insert(p.unsafeGetTensorImpl()).second) tensors.push_back(p);
  for (const auto& b : module.buffers())
    if (b.defined() && seen.insert(b.unsafeGetTensorImpl()).second) tensors.push_back(b);
  const auto buckets = make_buckets(tensors, bucket_bytes_);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flats(buckets.size());
  std::vector<torch::Tensor> wire(buckets.size());
  for (size_t b = 0; b < buckets.size(); ++b) {
    flats[b] = flatten(tensors, buckets[b]);
    wire[b] = flats[b].to(impl_->comm_device);
  }
  run_collectives(*impl_, env_.rank, timeout_, [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (size_t b = 0; b < buckets.size(); ++b) {
      std::vector<at::Tensor> arg{wire[b]};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      options.timeout = timeout_;
      works.push_back(impl_->group->broadcast(arg, options));
    }
    return works;
  });
  for (size_t b = 0; b < buckets.size(); ++b) {
    const auto flat = wire[b].to(flats[b].device());
    int64_t offset = 0;
    for (size_t i : buckets[b]) {
      auto& t = tensors[i];
      t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
#endif
}

namespace {

// The shared body of both allreduce_gradients overloads. Returns the summed weight.
double reduce_gradients(DistributedContext& ctx, DistributedContext::Impl* impl, torch::nn::Module& module,
                        double weight, bool weighted, std::vector<double>* also_sum, int64_t bucket_bytes) {
#ifndef SEQZOO_C10D
  return weight;
#else
  std::vector<torch::Tensor> params;
  std::vector<torch::Tensor> grads;
  std::unordered_set<const void*> seen;  // tied parameters appear once per owner in parameters()
  for (const auto& p : module.parameters()) {
    if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
    const auto& g = p.grad();
    if (g.defined() && g.is_sparse())
      throw std::invalid_argument("allreduce_gradients: sparse gradients are not supported");
    params.push_back(p);
    grads.push_back(g.defined() ? g : torch::zeros_like(p));
  }
  const auto buckets = make_buckets(grads, bucket_bytes);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flats(buckets.size());
  std::vector<torch::Tensor> wire(buckets.size());
  // [weight, also_sum...] in one float64 tensor.
  std::vector<double> scalars{weight};
  if (also_sum != nullptr) scalars.insert(scalars.end(), also_sum->begin(), also_sum->end());
  torch::Tensor weight_sum =
      torch::tensor(scalars, torch::TensorOptions().dtype(torch::kFloat64)).to(impl->comm_device);
  for (size_t b = 0; b < buckets.size(); ++b) {
    flats[b] = flatten(grads, buckets[b]);
    if (weighted) flats[b].mul_(weight);
    wire[b] = flats[b].to(impl->comm_device);
  }
  run_collectives(*impl, ctx.rank(), ctx.timeout(), [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    options.timeout = ctx.timeout();
    if (weighted) {
      std::vector<at::Tensor> arg{weight_sum};
      works.push_back(impl->group->allreduce(arg, options));
    }
    for (size_t b = 0; b < buckets.size(); ++b) {
      std::vector<at::Tensor> arg{wire[b]};
      works.push_back(impl->group->allreduce(arg, options));
    }
    return works;
  });
  double total = static_cast<double>(ctx.world_size());
  if (weighted) {
    const auto summed = weight_sum.cpu();
    total = summed[0].item<double>();
    if (also_sum != nullptr)
      for (size_t i = 0; i < also_sum->size(); ++i) (*also_sum)[i] = summed[1 + i].item<double>();
  }
  if (!(total > 0))
    throw std::invalid_argument("allreduce_gradients: the ranks' weights sum to " + std::to_string(total) +
                                " (must be > 0)");
  for (size_t b = 0; b < buckets.size(); ++b) {
    auto flat = wire[b].to(flats[b].device());
    flat.div_(total);
    int64_t offset = 0;
    for (size_t i : buckets[b]) {
      auto& p = params[i];
      auto slice = flat.narrow(0, offset, p.numel()).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(slice);
      else
        p.mutable_grad() = slice.clone();
      offset += p.numel();
    }
  }
  return total;
#endif
}

}  // namespace

void DistributedContext::allreduce_gradients(torch::nn::Module& module) {
  if (!active()) return;
  reduce_gradients(*this, impl_.get(), module, 1.0, /*weighted=*/false, nullptr, bucket_bytes_);
}

double DistributedContext::allreduce_gradients(torch::nn::Module& module, double weight,
                                               std::vector<double>* also_sum) {
  if (!active()) {
    if (!(weight > 0))
      throw std::invalid_argument("allreduce_gradients: the ranks' weights sum to " + std::to_string(weight) +
                                  " (must be > 0)");
    return weight;
  }
  return reduce_gradients(*this, impl_.get(), module, weight, /*weighted=*/true, also_sum, bucket_bytes_);
}

torch::Tensor DistributedContext::allreduce_sum(torch::Tensor tensor) {
  if (!active()) return tensor;
#ifdef SEQZOO_C10D
  torch::NoGradGuard no_grad;
  auto wire = tensor.to(impl_->comm_device).contiguous();
  run_collectives(*impl_, env_.rank, timeout_, [&] {
    std::vector<at::Tensor> arg{wire};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    options.timeout = timeout_;
    return std::vector<c10::intrusive_ptr<c10d::Work>>{impl_->group->allreduce(arg, options)};
  });
  if (!wire.is_same(tensor)) tensor.copy_(wire);
#endif
  return tensor;
}

std::vector<double> DistributedContext::allreduce_sum(const std::vector<double>& values) {
  if (!active() || values.empty()) return values;
  auto t = torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat64));
  allreduce_sum(t);
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

torch::Tensor DistributedContext::broadcast(torch::Tensor tensor, int root) {
  if (root < 0 || root >= env_.world_size)
    throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank");
  if (!active()) return tensor;
#ifdef SEQZOO_C10D
  torch::NoGradGuard no_grad;
  auto wire = tensor.to(impl_->comm_device).contiguous();
  run_collectives(*impl_, env_.rank, timeout_, [&] {
    std::vector<at::Tensor> arg{wire};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = timeout_;
    return std::vector<c10::intrusive_ptr<c10d::Work>>{impl_->group->broadcast(arg, options)};
  });
  if (!wire.is_same(tensor)) tensor.copy_(wire);
#endif
  return tensor;
}

void DistributedContext::wait_for_all(const std::string& name, std::chrono::milliseconds timeout) {
  if (!active()) return;
#ifdef SEQZOO_C10D
  const std::string key = "seqzoo/wait_for_all/" + name;
  try {
    if (impl_->store->add(key, 1) == env_.world_size) impl_->store->set(key + "/done", std::vector<uint8_t>{1});
    impl_->store->wait({key + "/done"}, timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error("rank " + std::to_string(env_.rank) + ": the other ranks did not reach '" + name +
                             "' (timeout " + seconds_text(timeout) + "): " + reason_of(e));
  }
#endif
}

void DistributedContext::barrier() {
  if (!active()) return;
#ifdef SEQZOO_C10D
  run_collectives(*impl_, env_.rank, timeout_, [&] {
    c10d::BarrierOptions options;
    options.timeout = timeout_;
    if (impl_->comm_device.is_cuda()) options.device_ids = {impl_->comm_device.index()};
    return std::vector<c10::intrusive_ptr<c10d::Work>>{impl_->group->barrier(options)};
  });
#endif
}

}  // namespace seqzoo
