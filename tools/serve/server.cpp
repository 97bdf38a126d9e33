#include "tools/serve/server.h"

#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "data/common/config_fields.h"
#include "tools/app/inference.h"
#include "tools/app/runtime.h"

namespace seqzoo {
namespace {

using Clock = std::chrono::steady_clock;

// What the /translate handler learnt, for the request's log line (the logger runs on the same thread
// right after the handler).
struct RequestStats {
  Clock::time_point start;
  std::string model;
  int64_t sentences = -1, tokens = 0, batch_lines = 0, batch_requests = 0;
  double queue_ms = 0, decode_ms = 0;
  std::string error;
};
thread_local RequestStats t_stats;

// The self-pipe of the stop signals.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);  // async-signal-safe
}

void install_stop_signals() {
  if (g_signal_pipe[0] < 0 && ::pipe(g_signal_pipe) != 0)
    throw std::runtime_error(std::string("cannot create a pipe for the stop signals: ") + std::strerror(errno));
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the server
}

// Blocks until a stop signal (or wake_stop_waiter(): 0) arrives; returns its number.
int wait_for_stop_signal() {
  unsigned char byte = 0;
  for (;;) {
    const ssize_t n = ::read(g_signal_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return 0;
  }
}

void wake_stop_waiter() {
  const unsigned char byte = 0;
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
}

std::mutex g_log_mutex;
void log_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::cerr << line << '\n';
  std::cerr.flush();
}

std::string fixed(double x, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

// "NAME=DIR" or "DIR" -> name, dir.
std::pair<std::string, std::string> split_run(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq != std::string::npos && eq > 0) return {spec.substr(0, eq), spec.substr(eq + 1)};
  std::filesystem::path p(spec);
  if (!p.has_filename()) p = p.parent_path();  // "runs/x/" -> "runs/x"
  return {p.filename().string(), spec};
}

void set_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

}  // namespace

void ServeOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (runs.empty()) bad("--run: give at least one run directory");
  if (port < 0 || port > 65535) bad("--port: must be in [0, 65535], got " + std::to_string(port));
  if (limits.max_lines < 1) bad("--max-lines: must be >= 1, got " + std::to_string(limits.max_lines));
  if (limits.max_line_bytes < 1) bad("--max-line-bytes: must be >= 1, got " + std::to_string(limits.max_line_bytes));
  if (max_body_bytes < 2) bad("--max-body-bytes: must be >= 2, got " + std::to_string(max_body_bytes));
  if (!(timeout_s > 0)) bad("--timeout: must be > 0, got " + format_config_double(timeout_s));
  if (http_threads < 1) bad("--http-threads: must be >= 1, got " + std::to_string(http_threads));
  if (!(read_timeout_s > 0)) bad("--read-timeout: must be > 0, got " + format_config_double(read_timeout_s));
  if (threads < 0) bad("--threads: must be >= 0, got " + std::to_string(threads));
  check_precision(precision);
  try {
    service.validate();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();  // "max_wait_ms: ..." -> "--max-wait-ms: ..."
    const size_t colon = msg.find(':');
    std::string flag = msg.substr(0, colon);
    for (auto& c : flag)
      if (c == '_') c = '-';
    bad("--" + flag + msg.substr(colon));
  }
}

int serve(const ServeOptions& options) {
  options.validate();
  // SIGTERM/SIGINT: a handler (process-wide, whichever thread the kernel picks: OpenBLAS starts
  // threads before main) writes the signal number to a pipe that one waiting thread reads.
  install_stop_signals();
  const torch::Device device = setup_runtime(options.device, options.threads);
  std::vector<std::unique_ptr<TranslationService>> services;
  std::vector<ServedModel> models;
  for (const auto& spec : options.runs) {
    const auto [name, dir] = split_run(spec);
    for (const auto& m : models)
      if (m.name == name)
        throw std::invalid_argument("--run: two runs are named '" + name + "'; name them with --run NAME=DIR");
    const auto started = Clock::now();
    ServiceOptions service = options.service;
    service.threads = options.threads;
    services.push_back(std::make_unique<TranslationService>(
        [&, dir = dir] {
          LoadedModel run = load_run(dir, options.checkpoint, device);
          set_precision(run, options.precision);
          return run;
        },
        service));
    ServedModel m;
    m.name = name;
    m.service = services.back().get();
    for (const auto& p : m.service->model().model->parameters()) m.parameters += p.numel();
    models.push_back(m);
    log_line("serve: model '" + name + "' from " + dir + " (" + m.service->model().config.model.family + ", " +
             m.service->model().config.data.src_lang + "->" + m.service->model().config.data.tgt_lang + ", " +
             std::to_string(m.parameters) + " parameters, " + std::to_string(service.replicas) + " replica(s), " + m.service->model().precision + ") loaded in " +
             fixed(std::chrono::duration<double>(Clock::now() - started).count(), 2) + " s");
  }

  httplib::Server server;
  const auto http_threads = static_cast<size_t>(options.http_threads);
  server.new_task_queue = [http_threads] { return new httplib::ThreadPool(http_threads); };
  server.set_payload_max_length(static_cast<size_t>(options.max_body_bytes));
  const auto read_us = static_cast<int64_t>(options.read_timeout_s * 1e6);
  server.set_read_timeout(read_us / 1000000, read_us % 1000000);
  server.set_write_timeout(read_us / 1000000, read_us % 1000000);
  server.set_keep_alive_max_count(1000);
  // Answers leave at once: with Nagle's algorithm a response written in two parts (headers, body)
  // waits for the client's delayed ACK of the first (40 ms on Linux), as nginx's tcp_nodelay avoids.
  server.set_tcp_nodelay(true);

  std::atomic<int64_t> next_id{0};
  std::atomic<int64_t> served{0};
  server.set_pre_routing_handler([&](const httplib::Request&, httplib::Response& res) {
    t_stats = RequestStats{};
    t_stats.start = Clock::now();
    res.set_header("X-Request-Id", std::to_string(++next_id));
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    // httplib's own refusals (413 body too large, 404 no such path, 400 malformed HTTP) in JSON too.
    if (res.body.empty()) {
      std::string what = "HTTP status " + std::to_string(res.status);
      if (res.status == 400) what = "malformed HTTP request";
      if (res.status == 404) what = "no such endpoint (POST /translate, GET /models, GET /health)";
      if (res.status == 413) what = "request body too large";
      // httplib parses form-encoded bodies itself and caps them at 8 KB (curl -d sends that type).
      if (res.status == 413 && req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0)
        what = "request body too large for Content-Type application/x-www-form-urlencoded (8192 bytes at most); "
               "send Content-Type: application/json";
      if (res.status == 414) what = "request URI too long";
      set_json(res, res.status, render_error(what));
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    t_stats.error = what;
    set_json(res, 500, render_error(what));
  });
  server.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
    ++served;
    const RequestStats& s = t_stats;
    std::ostringstream line;
    line << "serve: #" << res.get_header_value("X-Request-Id") << " " << req.method << " " << req.path << " "
         << res.status << " from " << req.remote_addr;
    if (!s.model.empty()) line << " model=" << s.model;
    if (s.sentences >= 0)
      line << " sentences=" << s.sentences << " tokens=" << s.tokens << " queue_ms=" << fixed(s.queue_ms)
           << " decode_ms=" << fixed(s.decode_ms) << " batch=" << s.batch_lines << "lines/" << s.batch_requests << "req";
    if (s.start != Clock::time_point{})
      line << " total_ms=" << fixed(std::chrono::duration<double, std::milli>(Clock::now() - s.start).count());
    if (!s.error.empty()) line << " error=\"" << s.error << "\"";
    log_line(line.str());
  });

  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    int64_t queued = 0;
    for (const auto& m : models) queued += m.service->queued_lines();
    set_json(res, 200,
             "{\"status\":\"ok\",\"models\":" + std::to_string(models.size()) + ",\"queued_lines\":" +
                 std::to_string(queued) + "}\n");
  });
  server.Get("/models", [&](const httplib::Request&, httplib::Response& res) { set_json(res, 200, render_models(models)); });
  server.Post("/translate", [&](const httplib::Request& req, httplib::Response& res) {
    try {
      ParsedRequest parsed = parse_translate_request(req.body, models, options.limits);
      t_stats.model = parsed.model->name;
      parsed.request.deadline =
          Clock::now() + std::chrono::microseconds(static_cast<int64_t>(options.timeout_s * 1e6));
      auto future = parsed.model->service->submit(parsed.request);
      ServiceResult result = future.get();  // the service answers every request it took, even at shutdown
      t_stats.sentences = static_cast<int64_t>(parsed.request.lines.size());
      t_stats.tokens = result.tokens;
      t_stats.batch_lines = result.batch_lines;
      t_stats.batch_requests = result.batch_requests;
      t_stats.queue_ms = result.queue_ms;
      t_stats.decode_ms = result.decode_ms;
      set_json(res, 200, render_translate_response(parsed, result));
    } catch (const ApiError& e) {
      t_stats.error = e.what();
      set_json(res, e.status, render_error(e.what()));
    } catch (const QueueFull& e) {
      t_stats.error = e.what();
      res.set_header("Retry-After", "1");
      set_json(res, 503, render_error(e.what()));
    } catch (const RequestExpired& e) {
      t_stats.error = e.what();
      set_json(res, 504, render_error(e.what()));
    } catch (const std::invalid_argument& e) {
      t_stats.error = e.what();
      set_json(res, 400, render_error(e.what()));
    }
  });

  // cpp-httplib listens with a backlog of 5 connections (fixed when the library was built): a burst
  // of new clients (64 connecting at once in the load test) overflowed it and the kernel reset two
  // of them. The listening socket is remembered here (the last one created is the one bound) and,
  // once bound, listened on again with the system's maximum: Linux updates a listening socket's backlog.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  int port = static_cast<int>(options.port);
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) throw std::runtime_error("cannot listen on " + options.host + " (any port)");
  } else if (!server.bind_to_port(options.host, port)) {
    throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(port) +
                             " (in use, or not an address of this machine?)");
  }
  if (listen_fd < 0) throw std::runtime_error("the HTTP library created no listening socket");
  if (::listen(listen_fd, SOMAXCONN) != 0)
    throw std::runtime_error("cannot raise the listen backlog of " + options.host + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));

  std::atomic<bool> listening_done{false};
  std::atomic<int> got_signal{0};
  std::thread waiter([&] {
    const int sig = wait_for_stop_signal();
    if (listening_done) return;  // woken by ourselves below
    got_signal = sig;
    log_line(std::string("serve: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
             ": no new connections; finishing the requests in flight");
    // stop() only takes effect once listening has begun: repeat until it has ended.
    while (!listening_done) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  log_line("serve: listening on http://" + options.host + ":" + std::to_string(port) + " (" +
           std::to_string(models.size()) + " model(s); POST /translate, GET /models, GET /health)");
  const bool ok = server.listen_after_bind();
  listening_done = true;
  if (got_signal == 0) wake_stop_waiter();
  waiter.join();
  for (auto& s : services) s->shutdown();
  log_line("serve: stopped after " + std::to_string(served.load()) + " requests");
  if (!ok && got_signal == 0) throw std::runtime_error("the HTTP server stopped unexpectedly");
  return 0;
}

}  // namespace seqzoo
