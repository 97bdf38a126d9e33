// seqzoo-serve end to end: a real server process on an ephemeral loopback port, good and hostile
// requests, concurrent clients answered as seqzoo-translate answers, graceful shutdown on SIGTERM.
#include <catch2/catch.hpp>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "tests/tools/reversal_data.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string bin(const std::string& name) { return std::string(SEQZOO_BINARY_DIR) + "/" + name; }

fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("seqzoo_serve_test_" + std::to_string(::getpid()));
    // A folder left by an earlier test process with the same id (ids are reused) is stale.
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A tiny reversal run (a few seconds on 2 cores), made once.
const fs::path& tiny_run() {
  static fs::path run_dir = [] {
    const fs::path data = scratch() / "data";
    write_reversal_data(data, 7);
    const fs::path dir = scratch() / "run";
    const std::string cmd = bin("seqzoo-train") + " --config " + SEQZOO_SOURCE_DIR +
                            "/configs/reverse-tiny.yaml --set data.dir=" + data.string() + " --set run_dir=" +
                            dir.string() + " --set train.max_steps=40 --set train.valid_every=40 --threads 2 >" +
                            (scratch() / "train.log").string() + " 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    return dir;
  }();
  return run_dir;
}

// A seqzoo-serve child process on an ephemeral port.
struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  fs::path log;

  explicit ServerProcess(const std::string& extra_args) {
    log = scratch() / ("serve_" + std::to_string(std::rand()) + ".log");
    const std::string cmd = "exec " + bin("seqzoo-serve") + " --run " + tiny_run().string() +
                            " --port 0 --threads 2 " + extra_args + " 2>" + log.string();
    pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 600 && port == 0; ++i) {  // up to 60 s to load and listen
      const std::string text = slurp(log);
      const size_t at = text.find("listening on http://127.0.0.1:");
      if (at != std::string::npos) port = std::atoi(text.c_str() + at + 30);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(slurp(log));
    REQUIRE(port > 0);
  }
  // SIGTERM, then the exit status.
  int stop() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~ServerProcess() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

// seqzoo-translate --scores on the same lines: "score<TAB>text" each.
std::vector<std::string> translate_reference(const std::vector<std::string>& lines, const std::string& flags) {
  const fs::path in = scratch() / "ref_in.txt", out = scratch() / "ref_out.txt";
  {
    std::ofstream f(in);
    for (const auto& l : lines) f << l << "\n";
  }
  const std::string cmd = bin("seqzoo-translate") + " --run " + tiny_run().string() + " --threads 2 " + flags +
                          " <" + in.string() + " >" + out.string();
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<std::string> result;
  std::ifstream f(out);
  for (std::string l; std::getline(f, l);) result.push_back(l);
  return result;
}

std::string as_translate_line(const json& t) {
  std::ostringstream os;  // seqzoo-translate writes scores with the stream's default precision
  os << t.at("score").get<double>() << '\t' << t.at("text").get<std::string>();
  return os.str();
}

// "score<TAB>text" lines: texts equal, scores equal to 1e-4 (a batch's shape changes the order of
// floating-point sums, so seqzoo-translate's own scores move in the sixth digit with --max-batch-lines).
bool same_translation(const std::string& a, const std::string& b) {
  const size_t ta = a.find('\t'), tb = b.find('\t');
  if (ta == std::string::npos || tb == std::string::npos) return a == b;
  if (a.substr(ta) != b.substr(tb)) return false;
  return std::abs(std::stod(a.substr(0, ta)) - std::stod(b.substr(0, tb))) <= 1e-4;
}

}  // namespace

TEST_CASE("serve: JSON API answers, refuses bad requests with the documented status, and stops on SIGTERM",
          "[tools][serve][e2e]") {
  ServerProcess server("--max-lines 8 --max-line-bytes 200 --max-body-bytes 4000");
  httplib::Client client("127.0.0.1", server.port);

  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto models = client.Get("/models");
  REQUIRE(models);
  const json m = json::parse(models->body).at("models").at(0);
  CHECK(m.at("name") == "run");
  CHECK(m.at("parameters").get<int64_t>() > 0);
  CHECK(m.at("src_vocab").get<int64_t>() > 0);

  const std::vector<std::string> lines = {"a b c", "", "d e f g h", "b a"};
  auto ok = client.Post("/translate", json{{"text", lines}, {"alignments", true}}.dump(), "application/json");
  REQUIRE(ok);
  REQUIRE(ok->status == 200);
  const json answer = json::parse(ok->body);
  REQUIRE(answer.at("translations").size() == lines.size());
  CHECK(answer["translations"][1]["text"] == "");  // empty in, empty out
  CHECK(answer["translations"][0].contains("alignment"));
  // The same lines through seqzoo-translate: the same texts and scores.
  const auto reference = translate_reference(lines, "--scores");
  for (size_t i = 0; i < lines.size(); ++i)
    if (!lines[i].empty()) CHECK(same_translation(as_translate_line(answer["translations"][i]), reference[i]));

  // Hostile and malformed requests: status and a message naming the field.
  struct Bad {
    std::string body;
    int status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {"{\"text\": ", 400, "invalid JSON"},
      {"[1, 2]", 400, "expected a JSON object"},
      {"{\"text\": 5}", 400, "text: expected a string"},
      {"{\"text\": [\"a\", 3]}", 400, "text[1]: expected a string"},
      {"{\"text\": \"a\", \"beam_size\": 0}", 400, "beam_size: must be >= 1"},
      {"{\"text\": \"a\", \"beam_size\": \"5\"}", 400, "beam_size: expected an integer"},
      {"{\"text\": \"a\", \"beem_size\": 5}", 400, "did you mean beam_size"},
      {"{\"text\": \"a\", \"batch_tokens\": 5}", 400, "batch_tokens: set by the server"},
      {"{\"text\": \"a\", \"model\": \"nope\"}", 404, "unknown model 'nope'"},
      {"{\"text\": \"a \xff b\"}", 400, "invalid UTF-8"},
      {"{\"text\": \"" + std::string(300, 'a') + "\"}", 413, "the limit is 200"},
      {json{{"text", std::vector<std::string>(9, "a")}}.dump(), 413, "9 lines"},
      {"{\"text\": \"" + std::string(5000, 'a') + "\"}", 413, "too large"},
  };
  for (const auto& b : bad) {
    auto res = client.Post("/translate", b.body, "application/json");
    REQUIRE(res);
    INFO(b.body.substr(0, 80) << " -> " << res->body);
    CHECK(res->status == b.status);
    CHECK(res->body.find(b.says) != std::string::npos);
  }
  auto missing = client.Get("/nothing");
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // A slow client that sends half a request and stalls holds its connection only; others are served.
  std::thread slow([&] {
    httplib::Client partial("127.0.0.1", server.port);
    partial.set_read_timeout(10, 0);
    (void)partial.Post("/translate", httplib::Headers{}, 100, [](size_t, size_t, httplib::DataSink& sink) {
      sink.write("{\"text\": ", 9);
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return false;  // hang up without finishing
    }, "application/json");
  });
  auto during = client.Post("/translate", "{\"text\": \"a b\"}", "application/json");
  REQUIRE(during);
  CHECK(during->status == 200);
  slow.join();
  auto after = client.Post("/translate", "{\"text\": \"a b\"}", "application/json");
  REQUIRE(after);
  CHECK(after->status == 200);

  CHECK(server.stop() == 0);
  const std::string log = slurp(server.log);
  CHECK(log.find("SIGTERM") != std::string::npos);
  CHECK(log.find("POST /translate 200") != std::string::npos);
  CHECK(log.find("POST /translate 413") != std::string::npos);
}

TEST_CASE("serve: concurrent clients share batches and get what seqzoo-translate gives each of them",
          "[tools][serve][e2e]") {
  ServerProcess server("--max-wait-ms 20 --replicas 2");
  std::vector<std::string> lines;
  std::mt19937 rng(3);
  for (int i = 0; i < 48; ++i) {
    std::string l;
    const int len = 2 + static_cast<int>(rng() % 5);
    for (int k = 0; k < len; ++k) l += std::string(k ? " " : "") + static_cast<char>('a' + rng() % 8);
    lines.push_back(l);
  }
  // Each client sends 4 requests of 3 lines; reference: each request's lines through seqzoo-translate.
  std::vector<std::vector<std::string>> requests;
  for (size_t i = 0; i < lines.size(); i += 3) requests.push_back({lines[i], lines[i + 1], lines[i + 2]});
  std::vector<std::vector<std::string>> expected;
  for (const auto& r : requests) expected.push_back(translate_reference(r, "--scores"));
  std::vector<std::vector<std::string>> got(requests.size());
  std::vector<int> status(requests.size(), 0);
  std::vector<std::thread> clients;
  for (size_t c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", server.port);
      for (size_t r = c; r < requests.size(); r += 4) {
        auto res = client.Post("/translate", json{{"text", requests[r]}}.dump(), "application/json");
        if (!res) continue;
        status[r] = res->status;
        if (res->status != 200) continue;
        const json answer = json::parse(res->body);  // named: a range-for over a temporary's member dangles
        for (const auto& t : answer.at("translations")) got[r].push_back(as_translate_line(t));
      }
    });
  for (auto& t : clients) t.join();
  for (size_t r = 0; r < requests.size(); ++r) {
    INFO("request " << r);
    CHECK(status[r] == 200);
    REQUIRE(got[r].size() == expected[r].size());
    for (size_t i = 0; i < got[r].size(); ++i) CHECK(same_translation(got[r][i], expected[r][i]));
  }
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: --precision bf16 answers as seqzoo-translate --precision bf16, and a bad one is refused",
          "[tools][serve][e2e]") {
  // Where the CPU has no native bf16 both decode in fp32 (with a note): the answers agree either way.
  ServerProcess server("--precision bf16");
  const std::vector<std::vector<std::string>> requests = {{"a b c d", "h g f"}, {"c c a b e"}};
  httplib::Client client("127.0.0.1", server.port);
  for (const auto& r : requests) {
    const auto expected = translate_reference(r, "--scores --precision bf16");
    auto res = client.Post("/translate", json{{"text", r}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const json answer = json::parse(res->body);
    REQUIRE(answer.at("translations").size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
      CHECK(same_translation(as_translate_line(answer.at("translations")[i]), expected[i]));
  }
  CHECK(server.stop() == 0);

  const fs::path log = scratch() / "bad_precision.log";
  const std::string cmd = bin("seqzoo-serve") + " --run " + tiny_run().string() + " --port 0 --precision fp16 2>" +
                          log.string();
  CHECK(std::system(cmd.c_str()) != 0);
  CHECK_THAT(slurp(log), Catch::Contains("--precision must be fp32, bf16 or int8, got 'fp16'"));
}
