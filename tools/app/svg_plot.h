#pragma once
// Self-contained SVG charts (no script, no external resources) for reports: line plots with
// axes, ticks, grid and legend, and attention heatmaps. Each function returns one <svg> element,
// ready to inline in HTML or to write as a file.
#include <string>
#include <utility>
#include <vector>

namespace seqzoo {

struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
  bool markers = true;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;  // colours by position (a fixed, colour-blind-safe palette)
  int width = 760, height = 380;   // pixels; the legend sits right of the plot area
  bool x_from_zero = true;         // the x axis starts at 0 (else at the smallest x)
  bool y_from_zero = false;
};

// The plot as one <svg> element. Series without points are listed in the legend as "(no data)".
std::string render_line_plot_svg(const LinePlot& plot);

// A heatmap of attention [rows][cols] (each weight in [0, 1]) with the source pieces along the
// top and the output pieces down the left (row i beyond tgt_pieces is labelled </s>).
std::string render_attention_svg(const std::vector<std::string>& src_pieces, const std::vector<std::string>& tgt_pieces,
                                 const std::vector<std::vector<float>>& attention, const std::string& title,
                                 int cell = 24);

// 1-2-5 ticks covering [lo, hi], widening lo and hi to the outer ticks (at most about max_ticks).
std::vector<double> nice_ticks(double& lo, double& hi, int max_ticks);

}  // namespace seqzoo
