// seqzoo-serve: trained runs behind an HTTP JSON API (tools/serve/server.h).
#include "tools/cli/main.h"
#include "tools/app/runtime.h"
#include "tools/serve/server.h"

int main(int argc, char** argv) {
  seqzoo::tune_cpu_runtime(argc, argv);
  using namespace seqzoo;
  return run_main("seqzoo-serve", [&] {
    cxxopts::Options options("seqzoo-serve", "Serve trained runs over HTTP: POST /translate, GET /models, GET /health");
    ServeOptions o;
    options.add_options()
        ("run", "run directory to serve, DIR or NAME=DIR (repeat to serve several models)", cxxopts::value<std::vector<std::string>>())
        ("checkpoint", "best | last | averaged | a checkpoint path (of every --run)", cxxopts::value<std::string>()->default_value(o.checkpoint))
        ("device", "compute device: cpu | cuda | auto", cxxopts::value<std::string>()->default_value(o.device))
        ("precision", "the decoders' matrix products: fp32 | bf16 (native bf16) | int8 (CPU; dynamic quantization); else fp32 with a note", cxxopts::value<std::string>()->default_value(o.precision))
        ("threads", "intra-op CPU threads of all replicas together (0 = all cores)", cxxopts::value<int64_t>()->default_value("0"))
        ("host", "address to listen on", cxxopts::value<std::string>()->default_value(o.host))
        ("port", "port to listen on (0 = any free port; the log says which)", cxxopts::value<int64_t>()->default_value("8080"))
        ("replicas", "decoding threads per model, each with its own copy of the model", cxxopts::value<int64_t>()->default_value("1"))
        ("batch-tokens", "source-token budget of a shared batch (0 = the run's search.batch_tokens)", cxxopts::value<int64_t>()->default_value("0"))
        ("max-wait-ms", "longest a free decoder waits with a request for others to join its batch", cxxopts::value<double>()->default_value("10"))
        ("max-queue-lines", "lines waiting per model at most; beyond, 503 with Retry-After", cxxopts::value<int64_t>()->default_value("4096"))
        ("max-lines", "lines per request at most (413 beyond)", cxxopts::value<int64_t>()->default_value("256"))
        ("max-line-bytes", "bytes per line at most (413 beyond)", cxxopts::value<int64_t>()->default_value("10000"))
        ("max-body-bytes", "bytes per request body at most (413 beyond)", cxxopts::value<int64_t>()->default_value("1048576"))
        ("timeout", "seconds a request may wait for a decoder (504 beyond)", cxxopts::value<double>()->default_value("30"))
        ("http-threads", "connections served at once", cxxopts::value<int64_t>()->default_value("64"))
        ("read-timeout", "seconds of client silence before its connection is closed", cxxopts::value<double>()->default_value("10"));
    cxxopts::ParseResult args;
    if (!parse_args(options, argc, argv, args)) return 0;
    if (!args.count("run")) throw UsageError("--run: give at least one run directory");
    o.runs = args["run"].as<std::vector<std::string>>();
    o.checkpoint = args["checkpoint"].as<std::string>();
    o.device = args["device"].as<std::string>();
    o.precision = args["precision"].as<std::string>();
    o.threads = args["threads"].as<int64_t>();
    o.host = args["host"].as<std::string>();
    o.port = args["port"].as<int64_t>();
    o.service.replicas = args["replicas"].as<int64_t>();
    o.service.batch_tokens = args["batch-tokens"].as<int64_t>();
    o.service.max_wait_ms = args["max-wait-ms"].as<double>();
    o.service.max_queue_lines = args["max-queue-lines"].as<int64_t>();
    o.limits.max_lines = args["max-lines"].as<int64_t>();
    o.limits.max_line_bytes = args["max-line-bytes"].as<int64_t>();
    o.max_body_bytes = args["max-body-bytes"].as<int64_t>();
    o.timeout_s = args["timeout"].as<double>();
    o.http_threads = args["http-threads"].as<int64_t>();
    o.read_timeout_s = args["read-timeout"].as<double>();
    try {
      o.validate();
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    return serve(o);
  });
}
