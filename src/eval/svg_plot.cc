#include "eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace glassbox::eval {
namespace {

constexpr double kWidth = 640, kHeight = 440, kLeft = 70, kRight = 20, kTop = 40, kBottom = 60;
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

}  // namespace

std::string svg_line_chart(const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto to_x = [&](double x) {
    x = std::clamp(x, spec.x_min, spec.x_max);
    return kLeft + plot_w * (std::log10(x) - std::log10(spec.x_min)) / (std::log10(spec.x_max) - std::log10(spec.x_min));
  };
  auto to_y = [&](double y) {
    double f;
    if (spec.log_y) {
      y = std::clamp(y, spec.y_min, spec.y_max);
      f = (std::log10(y) - std::log10(spec.y_min)) / (std::log10(spec.y_max) - std::log10(spec.y_min));
    } else {
      f = (std::clamp(y, spec.y_min, spec.y_max) - spec.y_min) / (spec.y_max - spec.y_min);
    }
    return kTop + plot_h * (1.0 - f);
  };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"" << kWidth / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape(spec.title) << "</text>\n";
  // Grid and ticks: decades on log axes, tenths on the linear one.
  for (double d = spec.x_min; d <= spec.x_max * 1.0001; d *= 10) {
    const double x = to_x(d);
    svg << "<line x1=\"" << number(x) << "\" y1=\"" << kTop << "\" x2=\"" << number(x) << "\" y2=\"" << kTop + plot_h
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << number(x) << "\" y=\"" << kTop + plot_h + 18 << "\" text-anchor=\"middle\">1e"
        << std::lround(std::log10(d)) << "</text>\n";
  }
  std::vector<double> y_ticks;
  if (spec.log_y) {
    for (double d = spec.y_min; d <= spec.y_max * 1.0001; d *= 10) y_ticks.push_back(d);
  } else {
    for (int i = 0; i <= 10; ++i) y_ticks.push_back(spec.y_min + (spec.y_max - spec.y_min) * i / 10.0);
  }
  for (double t : y_ticks) {
    const double y = to_y(t);
    char label[32];
    if (spec.log_y) std::snprintf(label, sizeof label, "1e%ld", std::lround(std::log10(t)));
    else std::snprintf(label, sizeof label, "%.2f", t);
    svg << "<line x1=\"" << kLeft << "\" y1=\"" << number(y) << "\" x2=\"" << kLeft + plot_w << "\" y2=\"" << number(y)
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << kLeft - 6 << "\" y=\"" << number(y + 4) << "\" text-anchor=\"end\">" << label << "</text>\n";
  }
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << kHeight - 18 << "\" text-anchor=\"middle\">" << escape(spec.x_label) << "</text>\n";
  svg << "<text transform=\"translate(18," << kTop + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << escape(spec.y_label) << "</text>\n";
  for (std::size_t s = 0; s < series.size(); ++s) {
    const char* colour = kColours[s % (sizeof kColours / sizeof kColours[0])];
    svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.8\" points=\"";
    for (const auto& p : series[s].points) {
      if (p.x <= 0.0 || (spec.log_y && p.y <= 0.0)) continue;
      svg << number(to_x(p.x)) << "," << number(to_y(p.y)) << " ";
    }
    svg << "\"/>\n";
    const double ly = kTop + 16 + 16.0 * static_cast<double>(s);
    svg << "<line x1=\"" << kLeft + plot_w - 170 << "\" y1=\"" << ly << "\" x2=\"" << kLeft + plot_w - 150 << "\" y2=\"" << ly
        << "\" stroke=\"" << colour << "\" stroke-width=\"3\"/>\n<text x=\"" << kLeft + plot_w - 145 << "\" y=\"" << ly + 4 << "\">"
        << escape(series[s].name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace glassbox::eval
