// A small SVG line chart for ROC and DET curves: several named series, log-scaled axes with a
// grid at each decade. Self-contained text, viewable in any browser and in Markdown renderers.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "eval/lfw_protocol.h"

namespace glassbox::eval {

struct PlotSeries {
  std::string name;
  std::vector<CurvePoint> points;
};

struct PlotSpec {
  std::string title;
  std::string x_label, y_label;
  double x_min = 1e-4, x_max = 1.0;  // log axis
  bool log_y = false;
  double y_min = 0.0, y_max = 1.0;
};

std::string svg_line_chart(const PlotSpec& spec, const std::vector<PlotSeries>& series);

}  // namespace glassbox::eval
