// seqzoo-serve-load: a load generator for seqzoo-serve, on loopback only. N clients (one keep-alive
// connection each) send POST /translate with consecutive lines of a file for a fixed time (and at most
// a fixed number of requests), then one markdown table row: clients, requests, sentences/s, latency
// percentiles, errors. tools/bench-serve.sh runs it at several client counts.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tools/cli/main.h"

int main(int argc, char** argv) {
  using namespace seqzoo;
  using Clock = std::chrono::steady_clock;
  return run_main("seqzoo-serve-load", [&] {
    cxxopts::Options options("seqzoo-serve-load", "Load-test a seqzoo-serve on this machine");
    options.add_options()
        ("host", "server address (loopback only)", cxxopts::value<std::string>()->default_value("127.0.0.1"))
        ("port", "server port", cxxopts::value<int>())
        ("file", "source sentences, one per line", cxxopts::value<std::string>())
        ("clients", "concurrent clients", cxxopts::value<int>()->default_value("1"))
        ("duration", "seconds to send for", cxxopts::value<double>()->default_value("10"))
        ("max-requests", "requests in all at most", cxxopts::value<int64_t>()->default_value("1000000"))
        ("lines-per-request", "lines in each request", cxxopts::value<int>()->default_value("1"))
        ("extra", "JSON object merged into each request (e.g. '{\"beam_size\": 5}')", cxxopts::value<std::string>()->default_value("{}"))
        ("header", "print the table header first");
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    const std::string host = args["host"].as<std::string>();
    if (host != "127.0.0.1" && host != "localhost" && host != "::1")
      throw UsageError("--host: loopback only (127.0.0.1, localhost or ::1), got " + host);
    if (!args.count("port") || !args.count("file")) throw UsageError("give --port and --file");
    const int port = args["port"].as<int>();
    const int clients = args["clients"].as<int>();
    const double duration = args["duration"].as<double>();
    const int64_t max_requests = args["max-requests"].as<int64_t>();
    const int per_request = args["lines-per-request"].as<int>();
    if (clients < 1 || clients > 1024) throw UsageError("--clients: must be in [1, 1024]");
    if (!(duration > 0) || duration > 3600) throw UsageError("--duration: must be in (0, 3600]");
    if (per_request < 1) throw UsageError("--lines-per-request: must be >= 1");
    nlohmann::json extra;
    try {
      extra = nlohmann::json::parse(args["extra"].as<std::string>());
    } catch (const std::exception& e) {
      throw UsageError(std::string("--extra: ") + e.what());
    }
    if (!extra.is_object()) throw UsageError("--extra: must be a JSON object");

    std::vector<std::string> lines;
    {
      std::ifstream in(args["file"].as<std::string>());
      if (!in) throw std::runtime_error("cannot read " + args["file"].as<std::string>());
      for (std::string l; std::getline(in, l);)
        if (!l.empty()) lines.push_back(l);
    }
    if (lines.empty()) throw std::invalid_argument(args["file"].as<std::string>() + ": no lines");

    std::atomic<int64_t> next_line{0}, sent{0}, errors{0}, sentences{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::string first_error;
    const auto start = Clock::now();
    const auto stop_at = start + std::chrono::microseconds(static_cast<int64_t>(duration * 1e6));
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&] {
        httplib::Client client(host, port);
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);  // a request's headers and body leave without waiting for an ACK
        client.set_read_timeout(120, 0);
        std::vector<double> mine;
        while (Clock::now() < stop_at && sent.fetch_add(1) < max_requests) {
          nlohmann::json body = extra;
          nlohmann::json text = nlohmann::json::array();
          for (int k = 0; k < per_request; ++k)
            text.push_back(lines[static_cast<size_t>(next_line.fetch_add(1)) % lines.size()]);
          body["text"] = text;
          const auto t0 = Clock::now();
          auto res = client.Post("/translate", body.dump(), "application/json");
          const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          std::string error;
          if (!res) {
            error = "connection error " + httplib::to_string(res.error());
          } else if (res->status != 200) {
            error = "HTTP " + std::to_string(res->status) + ": " + res->body;
          } else {
            try {
              auto answer = nlohmann::json::parse(res->body);
              if (answer.at("translations").size() != static_cast<size_t>(per_request)) error = "wrong number of translations";
            } catch (const std::exception& e) {
              error = std::string("bad answer: ") + e.what();
            }
          }
          if (error.empty()) {
            mine.push_back(ms);
            sentences += per_request;
          } else {
            ++errors;
            std::lock_guard<std::mutex> lock(mutex);
            if (first_error.empty()) first_error = error;
          }
        }
        std::lock_guard<std::mutex> lock(mutex);
        latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto pct = [&](double p) {
      if (latencies_ms.empty()) return 0.0;
      const auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(latencies_ms.size() - 1) + 0.5);
      return latencies_ms[std::min(i, latencies_ms.size() - 1)];
    };
    if (args.count("header")) {
      std::printf("| clients | requests | sentences/s | p50 ms | p95 ms | p99 ms | errors |\n");
      std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    std::printf("| %d | %zu | %.1f | %.1f | %.1f | %.1f | %lld |\n", clients, latencies_ms.size() + static_cast<size_t>(errors.load()),
                static_cast<double>(sentences.load()) / seconds, pct(50), pct(95), pct(99), static_cast<long long>(errors.load()));
    if (!first_error.empty()) std::cerr << "seqzoo-serve-load: first error: " << first_error << "\n";
    return errors.load() == 0 ? 0 : 1;
  });
}
