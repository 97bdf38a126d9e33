#pragma once
// The synthetic reversal corpus the tools' end-to-end tests train their tiny runs on: train (400
// pairs) and val (20) of 2..6 letters a..h, the target the source reversed.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

inline void write_reversal_data(const std::filesystem::path& data, unsigned seed) {
  std::filesystem::create_directories(data);
  std::mt19937 rng(seed);
  for (auto [split, n] : {std::pair<std::string, int>{"train", 400}, {"val", 20}}) {
    std::ofstream src(data / (split + ".src")), tgt(data / (split + ".tgt"));
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> w;
      const int len = 2 + static_cast<int>(rng() % 5);
      for (int k = 0; k < len; ++k) w.push_back(std::string(1, static_cast<char>('a' + rng() % 8)));
      for (size_t k = 0; k < w.size(); ++k) src << (k ? " " : "") << w[k];
      for (size_t k = 0; k < w.size(); ++k) tgt << (k ? " " : "") << w[w.size() - 1 - k];
      src << "\n";
      tgt << "\n";
    }
  }
}
