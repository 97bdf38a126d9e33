#pragma once
// A run's learning curves as a self-contained SVG document (curves.svg): an upper panel with the
// train and valid loss per step, a lower panel with valid BLEU, each with axes, ticks and a legend.
#include <string>
#include <vector>

#include "models/training/metrics.h"

namespace seqzoo {

std::string render_curves_svg(const std::vector<MetricsRow>& rows, const std::string& title);

}  // namespace seqzoo
