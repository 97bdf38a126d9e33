#pragma once
// seqzoo-serve's JSON API, apart from the sockets: parsing and checking a request body into what the
// translation service takes, and writing the answers. Every refusal is an ApiError with the HTTP
// status and a one-line message naming the field ("beam_size: must be >= 1, got 0").
//
// POST /translate   {"text": "..." | ["...", ...], "model": NAME, "alignments": false,
//                    "prefix": "..." | [...], and any search key: beam_size, alpha, length_norm,
//                    max_len_a, max_len_b, nbest, min_len_a, min_len_b, no_repeat_ngram, suppress_unk,
//                    sampling, temperature, topk, topp, seed}
//   -> {"model": NAME, "translations": [{"text", "score", "log_prob", ["alignment"], ["nbest"]}]}
// GET /models       -> {"models": [{"name", "family", "src_lang", "tgt_lang", "src_vocab", "tgt_vocab",
//                                   "parameters", "run_dir", "search": {...}}]}
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/app/translation_service.h"

namespace seqzoo {

struct ApiError : std::runtime_error {
  ApiError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;  // 400 bad request, 404 unknown model, 413 too large
};

struct ApiLimits {
  int64_t max_lines = 256;          // lines per request (413 beyond)
  int64_t max_line_bytes = 10000;   // bytes per line (413 beyond)
};

// A model the server offers: its name and its service.
struct ServedModel {
  std::string name;
  TranslationService* service = nullptr;
  int64_t parameters = 0;
};

struct ParsedRequest {
  const ServedModel* model = nullptr;
  ServiceRequest request;   // lines and decoding options (the model's search settings with the request's on top)
  bool alignments = false;  // answer each translation's hard alignment
};

// Parses and checks a /translate body against the served models (the first one when "model" is not
// given). Throws ApiError.
ParsedRequest parse_translate_request(const std::string& body, const std::vector<ServedModel>& models,
                                      const ApiLimits& limits);

// The /translate answer for a parsed request and its result, translations in input order.
std::string render_translate_response(const ParsedRequest& request, const ServiceResult& result);

// The /models answer.
std::string render_models(const std::vector<ServedModel>& models);

// {"error": message} for any status.
std::string render_error(const std::string& message);

}  // namespace seqzoo
