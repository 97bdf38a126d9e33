#include "data/data_config.h"

#include <cstdlib>
#include <stdexcept>

namespace seqzoo {

void DataConfig::check() const {
  if (src_lang.empty()) throw std::invalid_argument("data.src_lang: required (empty)");
  if (tgt_lang.empty()) throw std::invalid_argument("data.tgt_lang: required (empty)");
  if (train.empty()) throw std::invalid_argument("data.train: required (empty)");
  if (max_len < min_len)
    throw std::invalid_argument("data.max_len: must be >= data.min_len (" + std::to_string(min_len) + "), got " +
                                std::to_string(max_len));
}

std::string resolve_data_dir(const DataConfig& data) {
  if (!data.dir.empty()) return data.dir;
  const char* env = std::getenv("SEQZOO_DATA");
  if (env != nullptr && *env != '\0') return env;
  return "../shared/data/multi30k";
}

}  // namespace seqzoo
