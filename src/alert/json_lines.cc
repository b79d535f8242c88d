#include "alert/json_lines.h"

#include <cmath>

#include "core/json_text.h"

namespace glassbox {

namespace {
// Rounds to 1/inverse_unit (division keeps the nearest double, so 0.416 prints as 0.416).
double rounded(double value, double inverse_unit) { return std::round(value * inverse_unit) / inverse_unit; }
}  // namespace

nlohmann::json alert_to_json(const Alert& alert) {
  nlohmann::json j;
  j["type"] = "alert";
  j["subject"] = alert.subject;
  j["entry_id"] = alert.entry_id;
  j["score"] = rounded(alert.score, 1e4);
  j["metric"] = alert.metric;
  j["threshold"] = alert.threshold;
  if (alert.estimated_fpir) {
    j["estimated_fpir"] = *alert.estimated_fpir;
    j["list_templates"] = alert.list_templates;
  }
  j["profile"] = alert.profile;
  j["source"] = alert.source;
  if (!alert.item.empty()) j["image"] = alert.item;
  j["timestamp_s"] = rounded(alert.timestamp_s, 1e3);
  j["frame"] = alert.frame_index;
  j["track"] = alert.track_id;
  j["box"] = {{"x", alert.box.x}, {"y", alert.box.y}, {"w", alert.box.width}, {"h", alert.box.height}};
  if (alert.quality) j["quality"] = face_quality_json(*alert.quality);
  return j;
}

void JsonLinesWriter::write(const nlohmann::json& object) {
  const std::string line = to_json_text(object);
  std::lock_guard lock(mutex_);
  out_ << line << '\n';
  out_.flush();
}

}  // namespace glassbox
