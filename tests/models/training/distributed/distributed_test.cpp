// Data-parallel training: env parsing, sharding, the local launcher, and (with c10d/Gloo) real
// multi-process collectives on 127.0.0.1. Multi-process tests fork(): a child runs one rank's work,
// sends its result as text through a pipe and _exit()s -- it never returns into Catch2.
#include <catch2/catch.hpp>

#include "models/rnn/rnn_config.h"
#include "models/transformer/transformer_config.h"
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "data/batch.h"
#include "tools/app/config.h"
#include "models/registry.h"
#include "models/training/distributed/distributed.h"
#include "models/training/distributed/launcher.h"
#include "tests/models/training/distributed/multiprocess.h"

using namespace seqzoo;
using namespace seqzoo::test;

namespace {

// ---------------------------------------------------------------- helpers

// Sets environment variables for a scope and restores the previous values afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name);
      saved_.push_back({name, old != nullptr, old ? old : ""});
      if (value == nullptr)
        unsetenv(name);
      else
        setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->was_set)
        setenv(it->name.c_str(), it->value.c_str(), 1);
      else
        unsetenv(it->name.c_str());
    }
  }

 private:
  struct Saved {
    std::string name;
    bool was_set;
    std::string value;
  };
  std::vector<Saved> saved_;
};

// Clears every rank variable (so that tests do not see a surrounding torchrun's).
ScopedEnv clean_rank_env() {
  return ScopedEnv{{"RANK", nullptr},        {"WORLD_SIZE", nullptr},  {"LOCAL_RANK", nullptr},
                   {"LOCAL_WORLD_SIZE", nullptr}, {"MASTER_ADDR", nullptr}, {"MASTER_PORT", nullptr}};
}

// ---------------------------------------------------------------- stand-in models

// An RNN language-model-like tagger: embedding -> GRU -> vocabulary logits (stand-in for the RNN
// families: recurrent weights, embeddings, a projection).
struct GruNetImpl : torch::nn::Module {
  GruNetImpl(int64_t vocab, int64_t dim)
      : embed(register_module("embed", torch::nn::Embedding(vocab, dim))),
        gru(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(dim, 2 * dim).batch_first(true)))),
        out(register_module("out", torch::nn::Linear(2 * dim, vocab))) {}
  torch::Tensor forward(const torch::Tensor& tokens) {  // [B,T] -> [B,T,V]
    return out->forward(std::get<0>(gru->forward(embed->forward(tokens))));
  }
  torch::nn::Embedding embed;
  torch::nn::GRU gru;
  torch::nn::Linear out;
};
TORCH_MODULE(GruNet);

// Embedding -> one Transformer encoder block (self-attention, FFN, LayerNorm) -> logits
// (stand-in for the Transformer family). Dropout 0 so that the runs are deterministic.
struct TinyTransformerImpl : torch::nn::Module {
  TinyTransformerImpl(int64_t vocab, int64_t dim, int64_t heads, int64_t ffn)
      : embed(register_module("embed", torch::nn::Embedding(vocab, dim))),
        block(register_module("block", torch::nn::TransformerEncoderLayer(
                                            torch::nn::TransformerEncoderLayerOptions(dim, heads)
                                                .dim_feedforward(ffn)
                                                .dropout(0.0)))),
        out(register_module("out", torch::nn::Linear(dim, vocab))) {}
  torch::Tensor forward(const torch::Tensor& tokens) {  // [B,T] -> [B,T,V]
    auto x = embed->forward(tokens).transpose(0, 1);    // [T,B,D]: the C++ layer is sequence-first
    return out->forward(block->forward(x).transpose(0, 1));
  }
  torch::nn::Embedding embed;
  torch::nn::TransformerEncoderLayer block;
  torch::nn::Linear out;
};
TORCH_MODULE(TinyTransformer);

constexpr int64_t kVocab = 23;

torch::Tensor mean_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

void load(torch::nn::Module& m, const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard no_grad;
  auto params = m.parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(values[i]);
}

double max_abs_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, (a[i] - b[i]).abs().max().item<double>());
  return d;
}

enum class Opt { sgd, adam };

std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& m, Opt opt) {
  if (opt == Opt::sgd)
    return std::make_unique<torch::optim::SGD>(m.parameters(), torch::optim::SGDOptions(0.5).momentum(0.9));
  return std::make_unique<torch::optim::Adam>(m.parameters(), torch::optim::AdamOptions(1e-2));
}

// Trains `model` for `steps` steps on (x, y) (each step the same batch; the point is the
// arithmetic of the update, not learning). With a context, gradients are averaged first.
template <typename Net>
void train_steps(Net& model, Opt opt, const torch::Tensor& x, const torch::Tensor& y, int steps,
                 DistributedContext* dist, bool weighted = false) {
  auto optimizer = make_optimizer(*model, opt);
  for (int s = 0; s < steps; ++s) {
    optimizer->zero_grad();
    // Vary the data a little per step (rotate the time axis) so steps differ.
    auto xs = torch::roll(x, {s}, {1});
    auto ys = torch::roll(y, {s}, {1});
    mean_token_loss(model->forward(xs), ys).backward();
    if (dist != nullptr) {
      if (weighted)
        dist->allreduce_gradients(*model, static_cast<double>(x.size(0)));
      else
        dist->allreduce_gradients(*model);
    }
    optimizer->step();
  }
}

// Runs the parity check for one model family: one process on the full batch vs. `world` ranks each
// on its slice (rows [split[r], split[r+1])); returns per rank "diff start_diff control_diff": the
// largest parameter difference to the full-batch run after training, right after the broadcast,
// and for a copy trained on the rank's share without averaging.
template <typename Net, typename Make>
std::vector<RankResult> parity_run(Make make, Opt opt, const std::vector<int64_t>& split, int steps, bool weighted,
                                   int64_t bucket_bytes, double& moved) {
  const int world = static_cast<int>(split.size()) - 1;
  torch::manual_seed(7);
  Net reference = make();
  const auto initial = snapshot(*reference);
  const int64_t n = split.back();
  const auto x = torch::randint(4, kVocab, {n, 6}, torch::kLong);
  const auto y = torch::randint(4, kVocab, {n, 6}, torch::kLong);
  const auto expected = in_child(std::chrono::seconds(60), [&] {  // no backward() before forking
    train_steps(reference, opt, x, y, steps, nullptr);
    return snapshot(*reference);
  });
  moved = max_abs_diff(expected, initial);
  const int port = find_free_port();
  return run_ranks(world, std::chrono::seconds(20), [&](int rank) {
    torch::manual_seed(1000 + rank);  // different initialisations: broadcast_parameters must fix them
    Net model = make();
    if (rank == 0) load(*model, initial);
    DistributedContext dist;
    dist.init(make_env(rank, world, port), torch::kCPU, std::chrono::seconds(10));
    dist.set_bucket_bytes(bucket_bytes);
    dist.broadcast_parameters(*model);
    const double start_diff = max_abs_diff(snapshot(*model), initial);
    const auto rows = torch::indexing::Slice(split[rank], split[rank + 1]);
    // Control: the same rank's training without gradient averaging must not match.
    Net alone = make();
    load(*alone, snapshot(*model));
    train_steps(alone, opt, x.index({rows}), y.index({rows}), steps, nullptr);
    train_steps(model, opt, x.index({rows}), y.index({rows}), steps, &dist, weighted);
    dist.barrier();
    std::ostringstream out;
    out.precision(10);
    out << max_abs_diff(snapshot(*model), expected) << " " << start_diff << " "
        << max_abs_diff(snapshot(*alone), expected);
    return out.str();
  });
}

void require_parity(const std::vector<RankResult>& results, double moved) {
  REQUIRE(moved > 1e-3);  // training changed the weights noticeably
  for (size_t r = 0; r < results.size(); ++r) {
    INFO("rank " << r << ": " << results[r].text);
    REQUIRE(results[r].exit_code == 0);
    const auto numbers = parse_numbers(results[r].text);
    REQUIRE(numbers.size() == 3);
    CHECK(numbers[1] == 0.0);   // after broadcast_parameters every rank holds rank 0's weights
    CHECK(numbers[0] < 1e-5);   // and after training the same weights as the full-batch run,
    CHECK(numbers[2] > 1e-3);   // which training on the rank's share alone does not reach
  }
}

}  // namespace

// ---------------------------------------------------------------- env parsing, shard

TEST_CASE("DistributedEnv reads torchrun's variables", "[distributed]") {
  auto clean = clean_rank_env();
  SECTION("nothing set: a single process") {
    const auto env = DistributedEnv::from_env();
    CHECK(env.rank == 0);
    CHECK(env.world_size == 1);
    CHECK(env.local_rank == 0);
    CHECK(env.master_addr == "127.0.0.1");
    CHECK(env.master_port == 29500);
    CHECK_FALSE(env.distributed());
  }
  SECTION("all set") {
    ScopedEnv set{{"RANK", "3"},         {"WORLD_SIZE", "4"},      {"LOCAL_RANK", "1"},
                  {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "1234"}};
    const auto env = DistributedEnv::from_env();
    CHECK(env.rank == 3);
    CHECK(env.world_size == 4);
    CHECK(env.local_rank == 1);
    CHECK(env.local_world_size == 2);
    CHECK(env.master_addr == "10.0.0.7");
    CHECK(env.master_port == 1234);
    CHECK(env.distributed());
  }
  SECTION("bad values name the variable") {
    auto expect_error = [](std::initializer_list<std::pair<const char*, const char*>> values,
                           const std::string& variable) {
      ScopedEnv set(values);
      try {
        DistributedEnv::from_env();
        FAIL("no error for " << variable);
      } catch (const std::invalid_argument& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find(variable) != std::string::npos);
      }
    };
    expect_error({{"RANK", "one"}}, "RANK");
    expect_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}}, "RANK");
    expect_error({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}, "RANK");
    expect_error({{"WORLD_SIZE", "0"}}, "WORLD_SIZE");
    expect_error({{"WORLD_SIZE", "2x"}}, "WORLD_SIZE");
    expect_error({{"WORLD_SIZE", ""}}, "WORLD_SIZE");
    expect_error({{"WORLD_SIZE", "2"}, {"LOCAL_RANK", "5"}}, "LOCAL_RANK");
    expect_error({{"MASTER_PORT", "70000"}}, "MASTER_PORT");
    expect_error({{"MASTER_PORT", "http"}}, "MASTER_PORT");
    expect_error({{"MASTER_ADDR", ""}}, "MASTER_ADDR");
    expect_error({{"WORLD_SIZE", "99999999999999999999"}}, "WORLD_SIZE");
  }
}

TEST_CASE("shard splits an epoch's batches disjointly and evenly", "[distributed]") {
  std::vector<int> batches(23);
  for (int i = 0; i < 23; ++i) batches[i] = 100 + i;
  for (int world : {1, 2, 3, 4, 23, 30}) {
    INFO("world " << world);
    std::set<int> seen;
    for (int rank = 0; rank < world; ++rank) {
      const auto mine = shard(batches, rank, world);
      CHECK(mine.size() == batches.size() / world);  // the same number of steps on every rank
      CHECK(mine == shard(batches, rank, world));    // deterministic
      CHECK(static_cast<int64_t>(mine.size()) == shard_count(23, world));
      for (size_t i = 0; i < mine.size(); ++i) {
        CHECK(mine[i] == batches[i * world + rank]);  // every world-th batch from `rank`
        CHECK(mine[i] == batches[shard_index(static_cast<int64_t>(i), rank, world)]);
        CHECK(seen.insert(mine[i]).second);           // disjoint
      }
    }
    // Together they cover everything but the remainder, which is dropped.
    CHECK(seen.size() == batches.size() - batches.size() % world);
    if (!seen.empty()) CHECK(*seen.rbegin() < 100 + static_cast<int>(seen.size()));
  }
  CHECK_THROWS_AS(shard(batches, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(shard(batches, -1, 2), std::invalid_argument);
  CHECK_THROWS_AS(shard(batches, 0, 0), std::invalid_argument);
}

TEST_CASE("a single-process context makes every collective the identity", "[distributed]") {
  DistributedContext dist;
  dist.init(DistributedEnv{});
  CHECK(dist.is_main());
  CHECK_FALSE(dist.distributed());
  CHECK(dist.backend() == "none");
  auto t = torch::tensor({1.0, 2.0});
  dist.allreduce_sum(t);
  CHECK(t.equal(torch::tensor({1.0, 2.0})));
  CHECK(dist.allreduce_sum(std::vector<double>{4.0, 5.0}) == std::vector<double>{4.0, 5.0});
  torch::nn::Linear m(2, 2);
  m->forward(t.to(torch::kFloat).unsqueeze(0)).sum().backward();
  const auto g = m->weight.grad().clone();
  dist.allreduce_gradients(*m);
  CHECK(m->weight.grad().equal(g));
  std::vector<double> extras{2.5};
  CHECK(dist.allreduce_gradients(*m, 7.0, &extras) == 7.0);
  CHECK(m->weight.grad().equal(g));
  CHECK(extras == std::vector<double>{2.5});
  CHECK_THROWS_AS(dist.allreduce_gradients(*m, 0.0), std::invalid_argument);
  dist.barrier();
  CHECK_THROWS_AS(dist.set_bucket_bytes(0), std::invalid_argument);
}

// ---------------------------------------------------------------- the launcher

TEST_CASE("spawn_local_workers starts ranks with torchrun's environment", "[distributed]") {
  const std::string dir = "/tmp/seqzoo_launch_" + std::to_string(getpid());
  REQUIRE(system(("mkdir -p " + dir).c_str()) == 0);
  LaunchOptions options;
  options.executable = "/bin/sh";
  std::ostringstream log;
  const int rc = spawn_local_workers(
      3, {"-c", "echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT > " + dir + "/r$RANK"},
      options, log);
  CHECK(rc == 0);
  CHECK(log.str().empty());
  std::set<int> ports;
  for (int r = 0; r < 3; ++r) {
    std::ifstream in(dir + "/r" + std::to_string(r));
    REQUIRE(in.good());
    int rank, world, local, local_world, port;
    std::string addr;
    in >> rank >> world >> local >> local_world >> addr >> port;
    CHECK(rank == r);
    CHECK(world == 3);
    CHECK(local == r);
    CHECK(local_world == 3);
    CHECK(addr == "127.0.0.1");
    CHECK(port > 0);
    ports.insert(port);
  }
  CHECK(ports.size() == 1);  // one rendezvous port for all
  REQUIRE(system(("rm -rf " + dir).c_str()) == 0);
}

TEST_CASE("spawn_local_workers stops the others when a rank fails", "[distributed]") {
  LaunchOptions options;
  options.executable = "/bin/sh";
  options.grace = std::chrono::milliseconds(500);
  SECTION("a non-zero exit") {
    std::ostringstream log;
    const auto start = Clock::now();
    // Rank 1 fails at once; ranks 0 and 2 would run for 30 s (rank 2 even ignores SIGTERM).
    const int rc = spawn_local_workers(
        3, {"-c", "if [ $RANK = 1 ]; then sleep 0.2; exit 3; fi; if [ $RANK = 2 ]; then trap '' TERM; fi; exec sleep 30"},
        options, log);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    INFO(log.str());
    CHECK(rc == 3);
    CHECK(log.str().find("rank 1") != std::string::npos);
    CHECK(log.str().find("exited with code 3") != std::string::npos);
    CHECK(seconds < 10);
  }
  SECTION("a killed rank") {
    std::ostringstream log;
    const int rc = spawn_local_workers(2, {"-c", "if [ $RANK = 0 ]; then kill -9 $$; fi; exec sleep 30"}, options, log);
    INFO(log.str());
    CHECK(rc == 128 + SIGKILL);
    CHECK(log.str().find("rank 0") != std::string::npos);
    CHECK(log.str().find("signal 9") != std::string::npos);
  }
  SECTION("SIGTERM to the launcher is forwarded") {
    // Rank 0 signals its parent (the launcher: this test process, whose handler is installed
    // before the first fork); both ranks would otherwise sleep for 30 s.
    std::ostringstream log;
    const auto start = Clock::now();
    const int rc = spawn_local_workers(2, {"-c", "if [ $RANK = 0 ]; then kill -TERM $PPID; fi; exec sleep 30"},
                                       options, log);
    INFO(log.str());
    CHECK(rc == 128 + SIGTERM);
    CHECK(log.str().find("signal 15") != std::string::npos);
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 10);
  }
  SECTION("a program that cannot be started") {
    options.executable = "/nonexistent/seqzoo-worker";
    std::ostringstream log;
    CHECK_THROWS_AS(spawn_local_workers(2, {}, options, log), std::runtime_error);
  }
  CHECK_THROWS_AS(spawn_local_workers(0, {}, options), std::invalid_argument);
}

TEST_CASE("strip_option removes the launcher's own flag", "[distributed]") {
  const char* argv[] = {"seqzoo-train", "--config", "a.yaml", "--nproc", "2", "--steps=5", "--nproc=3", "x"};
  CHECK(strip_option(8, argv, "--nproc") == std::vector<std::string>{"--config", "a.yaml", "--steps=5", "x"});
}

// ---------------------------------------------------------------- real collectives (c10d)

#if defined(SEQZOO_HAVE_GLOO) && defined(USE_C10D_GLOO)  // as in distributed.cpp

TEST_CASE("Gloo ranks all-reduce, broadcast and meet at barriers", "[distributed]") {
  const int world = 3;
  const int port = find_free_port();
  const auto results = run_ranks(world, std::chrono::seconds(20), [&](int rank) {
    DistributedContext dist;
    dist.init(make_env(rank, world, port), torch::kCPU, std::chrono::seconds(10));
    std::ostringstream out;
    out << (dist.backend() == "gloo") << " " << dist.is_main() << " ";
    auto t = torch::tensor({1.0f * (rank + 1), 10.0f * (rank + 1)});
    dist.allreduce_sum(t);
    out << t[0].item<float>() << " " << t[1].item<float>() << " ";
    auto counts = torch::full({2, 2}, rank + 1, torch::kLong).t();  // non-contiguous, int64
    dist.allreduce_sum(counts);
    out << counts.sum().item<int64_t>() << " ";
    const auto sums = dist.allreduce_sum(std::vector<double>{0.5 * rank, 1.0});
    out << sums[0] << " " << sums[1] << " ";
    auto b = torch::full({3}, static_cast<float>(rank + 7));
    dist.broadcast(b, 1);
    out << b.sum().item<float>() << " ";
    // Gradients: plain mean, then weighted mean with piggybacked sums.
    torch::nn::Linear lin(2, 1);
    lin->weight.mutable_grad() = torch::full({1, 2}, static_cast<float>(rank + 1));
    dist.allreduce_gradients(*lin);  // the bias has no gradient anywhere: it gets zeros
    out << lin->weight.grad()[0][1].item<float>() << " " << lin->bias.grad().abs().sum().item<float>() << " ";
    // A parameter registered twice (tied weights) is averaged once, correctly.
    torch::nn::Module tied;
    auto shared = tied.register_parameter("a", torch::zeros({3}));
    tied.register_parameter("b", shared);
    shared.mutable_grad() = torch::full({3}, static_cast<float>(rank + 1));
    dist.allreduce_gradients(tied);
    out << shared.grad()[2].item<float>() << " ";
    lin->weight.mutable_grad().fill_(static_cast<float>(rank + 1));
    std::vector<double> extras{1.0, static_cast<double>(rank)};
    const double total = dist.allreduce_gradients(*lin, rank + 1.0, &extras);
    out << total << " " << lin->weight.grad()[0][0].item<float>() << " " << extras[0] << " " << extras[1] << " ";
    dist.barrier();
    return out.str();
  });
  for (int r = 0; r < world; ++r) {
    INFO("rank " << r << ": " << results[r].text);
    REQUIRE(results[r].exit_code == 0);
    const auto v = parse_numbers(results[r].text);
    REQUIRE(v.size() == 15);
    CHECK(v[8] == Approx(2.0));          // (1 + 2 + 3) / 3
    CHECK(v[9] == 0);
    CHECK(v[10] == Approx(2.0));         // the tied parameter
    CHECK(v[11] == 6);                   // sum of the weights
    CHECK(v[12] == Approx(14.0 / 6.0));  // (1*1 + 2*2 + 3*3) / 6
    CHECK(v[13] == 3);
    CHECK(v[14] == 3);                   // 0 + 1 + 2
    CHECK(v[0] == 1);                   // gloo backend
    CHECK(v[1] == (r == 0 ? 1 : 0));    // is_main
    CHECK(v[2] == 6);                   // 1 + 2 + 3
    CHECK(v[3] == 60);
    CHECK(v[4] == 4 * 6);               // every element of the int64 tensor summed
    CHECK(v[5] == Approx(1.5));         // 0 + 0.5 + 1
    CHECK(v[6] == 3);
    CHECK(v[7] == 3 * 8);               // rank 1's tensor everywhere
  }
}

TEST_CASE("averaged gradients over 2 ranks equal full-batch training (GRU stand-in)", "[distributed]") {
  auto make = [] { return GruNet(kVocab, 8); };
  double moved = 0;
  SECTION("SGD with momentum, equal halves, one bucket per tensor") {
    // A 64-byte bucket puts (almost) every tensor in its own bucket: 6 all-reduces in flight.
    const auto results = parity_run<GruNet>(make, Opt::sgd, {0, 4, 8}, 3, false, 64, moved);
    require_parity(results, moved);
  }
  SECTION("Adam, unequal shares weighted by their size") {
    const auto results = parity_run<GruNet>(make, Opt::adam, {0, 3, 8}, 3, true, int64_t(25) << 20, moved);
    require_parity(results, moved);
  }
}

TEST_CASE("averaged gradients over 2 ranks equal full-batch training (Transformer stand-in)", "[distributed]") {
  double moved = 0;
  SECTION("SGD with momentum, float32") {
    auto make = [] { return TinyTransformer(kVocab, 16, 2, 32); };
    const auto results = parity_run<TinyTransformer>(make, Opt::sgd, {0, 4, 8}, 3, false, 2048, moved);
    require_parity(results, moved);
  }
  SECTION("Adam, float64") {
    // In float32 Adam magnifies rounding noise: the key bias of attention has an exactly-zero
    // gradient in theory (softmax ignores a constant shift), so what backward computes for it is
    // noise of ~1e-9, which Adam's m / sqrt(v) turns into a full-size step of either sign. In
    // float64 the noise is far below Adam's epsilon and the comparison is meaningful.
    auto make = [] {
      TinyTransformer m(kVocab, 16, 2, 32);
      m->to(torch::kFloat64);
      return m;
    };
    const auto results = parity_run<TinyTransformer>(make, Opt::adam, {0, 4, 8}, 3, false, 2048, moved);
    require_parity(results, moved);
  }
}

namespace {

// A padded batch of random sentence pairs with lengths in [2, 7] (rows with different lengths, so
// padding differs between the full batch and the ranks' halves).
Batch random_batch(int64_t n, int64_t vocab) {
  const auto src_len = torch::randint(2, 8, {n}, torch::kLong);
  const auto tgt_len = torch::randint(2, 8, {n}, torch::kLong);  // tokens of y, before eos
  return [&] {
    Batch b;
    const int64_t s = src_len.max().item<int64_t>(), t = tgt_len.max().item<int64_t>() + 1;
    b.src = torch::zeros({n, s}, torch::kLong);
    b.tgt_in = torch::zeros({n, t}, torch::kLong);
    b.tgt_out = torch::zeros({n, t}, torch::kLong);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ls = src_len[i].item<int64_t>(), lt = tgt_len[i].item<int64_t>();
      b.src[i].narrow(0, 0, ls).copy_(torch::randint(4, vocab, {ls}, torch::kLong));
      const auto y = torch::randint(4, vocab, {lt}, torch::kLong);
      b.tgt_in[i][0] = kBosId;
      b.tgt_in[i].narrow(0, 1, lt).copy_(y);
      b.tgt_out[i].narrow(0, 0, lt).copy_(y);
      b.tgt_out[i][lt] = kEosId;
    }
    b.src_len = src_len;
    b.tgt_len = tgt_len + 1;
    b.src_tokens = src_len.sum().item<int64_t>();
    b.tgt_tokens = b.tgt_len.sum().item<int64_t>();
    return b;
  }();
}

// Rows [begin, end) of a batch, trimmed to their own longest sentence (as the batcher would pad).
Batch slice_batch(const Batch& b, int64_t begin, int64_t end) {
  Batch out;
  out.src_len = b.src_len.slice(0, begin, end);
  out.tgt_len = b.tgt_len.slice(0, begin, end);
  out.src = b.src.slice(0, begin, end).narrow(1, 0, out.src_len.max().item<int64_t>()).contiguous();
  const int64_t t = out.tgt_len.max().item<int64_t>();
  out.tgt_in = b.tgt_in.slice(0, begin, end).narrow(1, 0, t).contiguous();
  out.tgt_out = b.tgt_out.slice(0, begin, end).narrow(1, 0, t).contiguous();
  out.src_tokens = out.src_len.sum().item<int64_t>();
  out.tgt_tokens = out.tgt_len.sum().item<int64_t>();
  return out;
}

// Mean cross-entropy per target token (pads ignored), as the trainer normalises.
torch::Tensor token_loss(Seq2SeqModelImpl& model, const Batch& b) {
  const auto logits = model.forward(b);  // [B,T,V]
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), b.tgt_out.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kPadId));
}

ModelConfig tiny_config(const std::string& family) {
  ModelConfig c;
  c.family = family;
  c.embed_dim = 16;
  c.dropout = 0.0;
  c.options<RnnConfig>().hidden_dim = 16;
  c.options<RnnConfig>().layers = 1;
  c.options<TransformerConfig>().d_model = 16;
  c.options<TransformerConfig>().ffn_dim = 32;
  c.options<TransformerConfig>().heads = 2;
  c.options<TransformerConfig>().encoder_layers = 1;
  c.options<TransformerConfig>().decoder_layers = 1;
  return c;
}

}  // namespace

TEST_CASE("token-weighted averaging over 2 ranks equals full-batch training (real families)", "[distributed]") {
  const int64_t vocab = 29, n = 6, steps = 3;
  const std::string family = GENERATE(as<std::string>{}, "attention", "transformer");
  INFO("family " << family);
  // float64: in float32 Adam turns the rounding noise in exactly-zero gradients (e.g. attention's
  // key bias) into full-size steps, which differ between any two summation orders.
  const auto dtype = torch::kFloat64;
  torch::manual_seed(11);
  auto reference = build_model(tiny_config(family), vocab, vocab);
  reference->to(dtype);
  const auto initial = snapshot(*reference);
  std::vector<Batch> data;
  for (int s = 0; s < steps; ++s) data.push_back(random_batch(n, vocab));
  const auto expected = in_child(std::chrono::seconds(60), [&] {  // no backward() before forking
    torch::optim::Adam adam(reference->parameters(), torch::optim::AdamOptions(1e-2));
    for (const auto& b : data) {
      adam.zero_grad();
      token_loss(*reference, b).backward();
      adam.step();
    }
    return snapshot(*reference);
  });
  const double moved = max_abs_diff(expected, initial);
  const int port = find_free_port();
  const auto results = run_ranks(2, std::chrono::seconds(20), [&](int rank) {
    auto model = build_model(tiny_config(family), vocab, vocab);
    model->to(dtype);
    if (rank == 0) load(*model, initial);
    DistributedContext dist;
    dist.init(make_env(rank, 2, port), torch::kCPU, std::chrono::seconds(10));
    dist.broadcast_parameters(*model);
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-2));
    double tokens_seen = 0;
    for (const auto& b : data) {
      // Unequal shares (2 and 4 sentences) with different token counts and padding.
      const auto mine = rank == 0 ? slice_batch(b, 0, 2) : slice_batch(b, 2, n);
      adam.zero_grad();
      token_loss(*model, mine).backward();
      tokens_seen += dist.allreduce_gradients(*model, static_cast<double>(mine.tgt_tokens));
      adam.step();
    }
    double all_tokens = 0;
    for (const auto& b : data) all_tokens += static_cast<double>(b.tgt_tokens);
    std::ostringstream out;
    out.precision(10);
    out << max_abs_diff(snapshot(*model), expected) << " " << tokens_seen - all_tokens;
    return out.str();
  });
  REQUIRE(moved > 1e-3);
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": " << results[r].text);
    REQUIRE(results[r].exit_code == 0);
    const auto v = parse_numbers(results[r].text);
    REQUIRE(v.size() == 2);
    CHECK(v[0] < 1e-5);
    CHECK(v[1] == 0);  // the summed weights are the full batches' token counts
  }
}

TEST_CASE("a rank that dies or hangs makes the others fail within the timeout", "[distributed]") {
  const int port = find_free_port();
  const auto timeout = std::chrono::seconds(3);
  std::string mode;
  SECTION("rank 1 exits") { mode = "exit"; }
  SECTION("rank 1 is SIGKILLed") { mode = "kill"; }
  SECTION("rank 1 hangs") { mode = "hang"; }
  const auto results = run_ranks(2, std::chrono::seconds(20), [&](int rank) -> std::string {
    DistributedContext dist;
    dist.init(make_env(rank, 2, port), torch::kCPU, timeout);
    auto t = torch::ones({4});
    dist.allreduce_sum(t);  // one successful collective first
    if (rank == 1) {
      if (mode == "exit") _exit(1);
      if (mode == "kill") kill(getpid(), SIGKILL);
      std::this_thread::sleep_for(std::chrono::seconds(60));  // killed by the harness
      return "woke up";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto start = Clock::now();
    std::string first, second;
    try {
      dist.allreduce_sum(t);
      return "no error";
    } catch (const std::runtime_error& e) {
      first = e.what();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    try {
      dist.barrier();  // the group is now broken: later collectives fail at once
    } catch (const std::runtime_error& e) {
      second = e.what();
    }
    std::ostringstream out;
    out << seconds << "\n" << first << "\n" << second;
    return out.str();
  }, /*finisher=*/0);
  INFO(mode << ": " << results[0].text);
  REQUIRE(results[0].exit_code == 0);
  std::istringstream in(results[0].text);
  double seconds = 0;
  std::string line, first, second;
  in >> seconds;
  std::getline(in, line);
  std::getline(in, first);
  std::getline(in, second);
  CHECK(first.rfind("rank 0: lost contact with the other ranks (timeout 3 s): ", 0) == 0);
  CHECK(second == first);
  CHECK(seconds < 3.0 + 2.0);                     // bounded by the timeout (plus slack)
  if (mode != "hang") CHECK(seconds < 3.0);       // a closed connection is noticed at once
  CHECK(results[0].seconds < 15.0);               // and the process shuts down promptly
}

TEST_CASE("wait_for_all waits for a slow rank and times out without one", "[distributed]") {
  const int port = find_free_port();
  const auto results = run_ranks(2, std::chrono::seconds(20), [&](int rank) {
    DistributedContext dist;
    dist.init(make_env(rank, 2, port), torch::kCPU, std::chrono::seconds(10));
    if (rank == 1) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto start = Clock::now();
    dist.wait_for_all("slow", std::chrono::seconds(10));
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    std::ostringstream out;
    out << waited << "\n";
    if (rank == 0) {  // rank 1 never comes to this one
      start = Clock::now();
      try {
        dist.wait_for_all("never", std::chrono::milliseconds(1000));
        out << "no error";
      } catch (const std::runtime_error& e) {
        out << std::chrono::duration<double>(Clock::now() - start).count() << "\n" << e.what();
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // keep the peer alive meanwhile
    }
    return out.str();
  });
  REQUIRE(results[0].exit_code == 0);
  REQUIRE(results[1].exit_code == 0);
  std::istringstream in(results[0].text);
  double waited = 0, timed_out_after = 0;
  std::string message;
  in >> waited >> timed_out_after;
  std::getline(in, message);
  std::getline(in, message);
  INFO(results[0].text);
  CHECK(waited > 0.3);  // rank 0 waited for rank 1's late arrival
  CHECK(timed_out_after >= 0.9);
  CHECK(timed_out_after < 4.0);
  CHECK(message.rfind("rank 0: the other ranks did not reach 'never' (timeout 1 s)", 0) == 0);
}

TEST_CASE("a rendezvous without the other ranks fails within the timeout", "[distributed]") {
  const int port = find_free_port();
  DistributedContext dist;
  const auto start = Clock::now();
  try {
    dist.init(make_env(0, 2, port), torch::kCPU, std::chrono::milliseconds(1500));
    FAIL("init returned without the other rank");
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.rfind("rank 0: rendezvous of 2 ranks at 127.0.0.1:" + std::to_string(port), 0) == 0);
    CHECK(message.find("timeout 1.5 s") != std::string::npos);
  }
  CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 6.0);
  CHECK_THROWS_AS(dist.barrier(), std::runtime_error);  // not initialised
}

// Run by the launcher test below (hidden: only runs when named).
TEST_CASE("launcher worker", "[.][distributed-worker]") {
  const auto env = DistributedEnv::from_env();
  DistributedContext dist;
  dist.init(env, torch::kCPU, std::chrono::seconds(10));
  auto t = torch::tensor({static_cast<double>(env.rank + 1)});
  dist.allreduce_sum(t);
  const double expected = env.world_size * (env.world_size + 1) / 2.0;
  REQUIRE(t.item<double>() == expected);
  dist.barrier();
}

TEST_CASE("spawn_local_workers runs a real 2-rank Gloo job", "[distributed]") {
  std::ostringstream log;
  // /proc/self/exe: this test binary, running only the hidden worker test in each rank.
  const int rc = spawn_local_workers(2, {"[distributed-worker]", "--reporter", "compact"}, {}, log);
  INFO(log.str());
  CHECK(rc == 0);
}

// Benchmark (hidden; run with "[distributed-benchmark]"): K training steps of a Transformer
// stand-in on a fixed global batch, one process vs. two ranks with half the batch each.
TEST_CASE("benchmark: 1 process vs 2 ranks", "[.][distributed-benchmark]") {
  const int64_t vocab = 8000, dim = 256, ffn = 1024, batch = 64, length = 24;
  const int steps = 10;
  auto make = [&] { return TinyTransformer(vocab, dim, 4, ffn); };
  torch::manual_seed(3);
  const auto x = torch::randint(4, vocab, {batch, length}, torch::kLong);
  const auto y = torch::randint(4, vocab, {batch, length}, torch::kLong);
  auto time_steps = [&](TinyTransformer& model, const torch::Tensor& xs, const torch::Tensor& ys,
                        DistributedContext* dist) {
    auto optimizer = make_optimizer(*model, Opt::adam);
    auto one = [&] {
      optimizer->zero_grad();
      mean_token_loss(model->forward(xs), ys).backward();
      if (dist != nullptr) dist->allreduce_gradients(*model);
      optimizer->step();
    };
    one();  // warm-up
    if (dist != nullptr) dist->barrier();
    const auto start = Clock::now();
    for (int s = 0; s < steps; ++s) one();
    return std::chrono::duration<double>(Clock::now() - start).count() / steps;
  };
  std::map<std::string, double> ms;
  // The single process runs in a child too: no backward() in the parent before forking (in_child).
  const auto single = run_ranks(1, std::chrono::seconds(300), [&](int) {
    std::ostringstream out;
    for (int threads : {1, 2}) {
      torch::set_num_threads(threads);
      torch::manual_seed(5);
      auto model = make();
      out << 1000 * time_steps(model, x, y, nullptr) << " ";
    }
    return out.str();
  });
  REQUIRE(single[0].exit_code == 0);
  const auto single_ms = parse_numbers(single[0].text);
  REQUIRE(single_ms.size() == 2);
  for (int threads : {1, 2})
    ms["1 process, " + std::to_string(threads) + " thread(s), batch " + std::to_string(batch)] = single_ms[threads - 1];
  const int port = find_free_port();
  const auto results = run_ranks(2, std::chrono::seconds(300), [&](int rank) {
    torch::manual_seed(5);
    auto model = make();
    DistributedContext dist;
    dist.init(make_env(rank, 2, port), torch::kCPU, std::chrono::seconds(60));
    dist.broadcast_parameters(*model);
    const auto rows = torch::indexing::Slice(rank * batch / 2, (rank + 1) * batch / 2);
    const double per_step = time_steps(model, x.index({rows}), y.index({rows}), &dist);
    // The all-reduce alone (same bucket layout), for the communication share.
    dist.barrier();
    const auto start = Clock::now();
    for (int s = 0; s < steps; ++s) dist.allreduce_gradients(*model);
    const double comm = std::chrono::duration<double>(Clock::now() - start).count() / steps;
    std::ostringstream out;
    out << 1000 * per_step << " " << 1000 * comm;
    return out.str();
  });
  REQUIRE(results[0].exit_code == 0);
  REQUIRE(results[1].exit_code == 0);
  const auto r0 = parse_numbers(results[0].text);
  REQUIRE(r0.size() == 2);
  ms["2 ranks x 1 thread, batch " + std::to_string(batch / 2) + " each"] = r0[0];
  int64_t params = 0;
  for (const auto& p : make()->parameters()) params += p.numel();
  std::cout << "Transformer stand-in: " << params << " parameters (" << params * 4 / 1e6
            << " MB of gradients), global batch " << batch << " x " << length << " tokens, " << steps
            << " Adam steps\n";
  for (const auto& [name, value] : ms) std::cout << "  " << name << ": " << value << " ms/step\n";
  std::cout << "  gradient all-reduce alone (2 ranks): " << r0[1] << " ms/step\n";
  CHECK(r0[0] > 0);
}

#else

TEST_CASE("without c10d a multi-process context is refused clearly", "[distributed]") {
  DistributedContext dist;
  try {
    dist.init(make_env(0, 2, 29500));
    FAIL("init succeeded without c10d");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("without c10d") != std::string::npos);
  }
}

#endif
