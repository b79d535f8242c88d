#include "match/threshold_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/paths.h"

namespace glassbox {
namespace {

constexpr const char* kFormat = "glassbox-calibration-1";

// Closeness as "higher is closer" for either metric, so the table is searched one way.
double closeness(Metric metric, double score) { return metric == Metric::kEuclidean ? -score : score; }

std::string rate_words(double rate) {
  char buffer[64];
  if (rate <= 0) return "0";
  if (rate >= 0.5) {
    std::snprintf(buffer, sizeof buffer, "%.2f", rate);
  } else {
    std::snprintf(buffer, sizeof buffer, "1 in %.0f", 1.0 / rate);
  }
  return buffer;
}

std::string score_words(const ModelProfile& profile, double threshold) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s %s %.4f", profile.metric == Metric::kEuclidean ? "distance" : "cosine",
                profile.metric == Metric::kEuclidean ? "<=" : ">=", threshold);
  return buffer;
}

}  // namespace

Result<FalseMatchCalibration> FalseMatchCalibration::make(Metric metric, std::vector<Point> points, std::size_t comparisons,
                                                         double list_size_exponent, std::string source) {
  if (points.empty()) return Error{"a calibration needs at least one point"};
  if (!(list_size_exponent > 0 && list_size_exponent <= 1)) return Error{"the list-size exponent must be in (0, 1]"};
  if (comparisons == 0) return Error{"a calibration needs the number of comparisons it counted"};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    if (!std::isfinite(p.score) || !(p.false_match_rate > 0) || p.false_match_rate > 1)
      return Error{"calibration point " + std::to_string(i) + ": the score must be finite and the rate in (0, 1]"};
    if (i > 0 && (p.false_match_rate <= points[i - 1].false_match_rate || closeness(metric, p.score) > closeness(metric, points[i - 1].score)))
      return Error{"calibration point " + std::to_string(i) + ": points must go from the strictest score to the most lenient, rates increasing"};
  }
  FalseMatchCalibration c;
  c.metric_ = metric;
  c.points_ = std::move(points);
  c.comparisons_ = comparisons;
  c.list_size_exponent_ = list_size_exponent;
  c.source_ = std::move(source);
  return c;
}

Result<FalseMatchCalibration> FalseMatchCalibration::parse(const std::string& json_text, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return Error{origin + ": not valid JSON: " + e.what()};
  }
  auto bad = [&](const std::string& field, const std::string& why) { return Error{origin + ": field '" + field + "' " + why}; };
  auto text_field = [&](const char* field) {
    return doc.is_object() && doc.contains(field) && doc[field].is_string() ? doc[field].get<std::string>() : std::string();
  };
  if (!doc.is_object() || text_field("format") != kFormat) return bad("format", std::string("must be \"") + kFormat + "\"");
  const std::string metric = text_field("metric");
  if (metric != "euclidean" && metric != "cosine") return bad("metric", "must be \"euclidean\" or \"cosine\"");
  if (!doc.contains("comparisons") || !doc["comparisons"].is_number_unsigned() || doc["comparisons"].get<std::size_t>() == 0)
    return bad("comparisons", "must be a positive integer");
  if (!doc.contains("source") || !doc["source"].is_string()) return bad("source", "must say what was measured");
  if (!doc.contains("list_size_exponent") || !doc["list_size_exponent"].is_number()) return bad("list_size_exponent", "must be a number in (0, 1]");
  const nlohmann::json table = doc.contains("false_match_rate") ? doc["false_match_rate"] : nlohmann::json();
  if (!table.is_array() || table.empty()) return bad("false_match_rate", "must be a non-empty array of [score, rate]");
  std::vector<Point> points;
  for (const auto& row : table) {
    if (!row.is_array() || row.size() != 2 || !row[0].is_number() || !row[1].is_number())
      return bad("false_match_rate", "rows must be [score, rate]");
    points.push_back({row[0].get<double>(), row[1].get<double>()});
  }
  auto made = make(metric == "cosine" ? Metric::kCosine : Metric::kEuclidean, std::move(points), doc["comparisons"].get<std::size_t>(),
                   doc["list_size_exponent"].get<double>(), doc["source"].get<std::string>());
  if (!made) return made.error().within(origin);
  return made;
}

nlohmann::json FalseMatchCalibration::to_json() const {
  nlohmann::json table = nlohmann::json::array();
  for (const Point& p : points_) table.push_back({p.score, p.false_match_rate});
  return {{"format", kFormat}, {"metric", metric_name(metric_)}, {"comparisons", comparisons_},
          {"list_size_exponent", list_size_exponent_}, {"source", source_}, {"false_match_rate", table}};
}

double FalseMatchCalibration::false_match_rate(double score) const {
  const double c = closeness(metric_, score);
  if (c >= closeness(metric_, points_.front().score)) return points_.front().false_match_rate;
  if (c <= closeness(metric_, points_.back().score)) return points_.back().false_match_rate;
  for (std::size_t i = 1; i < points_.size(); ++i) {
    const double c0 = closeness(metric_, points_[i - 1].score), c1 = closeness(metric_, points_[i].score);
    if (c > c1) {
      // c0 >= c > c1: the segment from point i-1 (closer) to point i.
      const double f = c0 == c1 ? 1.0 : (c0 - c) / (c0 - c1);
      const double l0 = std::log(points_[i - 1].false_match_rate), l1 = std::log(points_[i].false_match_rate);
      return std::exp(l0 + f * (l1 - l0));
    }
  }
  return points_.back().false_match_rate;
}

std::optional<double> FalseMatchCalibration::score_at(double rate) const {
  if (rate < points_.front().false_match_rate) return std::nullopt;
  if (rate >= points_.back().false_match_rate) return points_.back().score;
  for (std::size_t i = 1; i < points_.size(); ++i) {
    if (rate <= points_[i].false_match_rate) {
      const double l0 = std::log(points_[i - 1].false_match_rate), l1 = std::log(points_[i].false_match_rate);
      const double f = (std::log(rate) - l0) / (l1 - l0);
      return points_[i - 1].score + f * (points_[i].score - points_[i - 1].score);
    }
  }
  return points_.back().score;
}

Result<std::optional<FalseMatchCalibration>> load_false_match_calibration(const ModelProfile& profile) {
  if (profile.calibration_file.empty()) return std::optional<FalseMatchCalibration>();
  const std::filesystem::path path = profiles_dir() / profile.calibration_file;
  std::ifstream in(path);
  if (!in) return Error{"profile " + profile.name + ": calibration file " + path.string() + " cannot be read"};
  std::stringstream text;
  text << in.rdbuf();
  auto calibration = FalseMatchCalibration::parse(text.str(), path.string());
  if (!calibration) return calibration.error();
  // Which profile and alignment it was measured with (written by glassbox eval lfw).
  const auto doc = nlohmann::json::parse(text.str());
  auto named = [&](const char* field) { return doc.contains(field) && doc[field].is_string() ? doc[field].get<std::string>() : std::string(); };
  if (named("profile") != profile.name || named("alignment") != profile.alignment.key())
    return Error{path.string() + ": measured for profile '" + named("profile") + "' with alignment '" + named("alignment") + "', not for " +
                 profile.name + " as it is now ('" + profile.alignment.key() + "'); measure it again with glassbox eval lfw --calibration-dir"};
  return std::optional<FalseMatchCalibration>(std::move(*calibration));
}

double FalseMatchCalibration::effective_comparisons(std::size_t templates) const {
  return std::pow(static_cast<double>(std::max<std::size_t>(templates, 1)), list_size_exponent_);
}

double FalseMatchCalibration::fpir(double score, std::size_t templates) const {
  return modelled_fpir(false_match_rate(score), effective_comparisons(templates));
}

double modelled_fpir(double false_match_rate, double comparisons) {
  if (false_match_rate >= 1) return 1.0;
  return -std::expm1(std::max(comparisons, 1.0) * std::log1p(-false_match_rate));
}

double false_match_rate_for(double target_fpir, double comparisons) {
  if (target_fpir >= 1) return 1.0;
  return -std::expm1(std::log1p(-target_fpir) / std::max(comparisons, 1.0));
}

std::optional<double> score_meaning(const FalseMatchCalibration* calibration, double score, std::size_t templates) {
  if (calibration == nullptr) return std::nullopt;
  const double fpir = calibration->fpir(score, templates);
  if (!(fpir > 0)) return fpir;
  const double scale = std::pow(10.0, 3 - std::ceil(std::log10(fpir)));
  return std::round(fpir * scale) / scale;
}

ThresholdInForce decide_threshold(const ModelProfile& profile, const FalseMatchCalibration* calibration, const ThresholdPolicy& policy,
                                  std::size_t templates) {
  ThresholdInForce d;
  d.templates = templates;
  d.searches_per_track = std::max<std::size_t>(policy.searches_per_track, 1);
  const std::string list = "a list of " + std::to_string(templates) + (templates == 1 ? " template" : " templates");
  auto predicted = [&](double threshold) {
    const auto fpir = score_meaning(calibration, threshold, templates);
    return fpir ? "; there the calibration predicts an FPIR of " + rate_words(*fpir) + " for " + list : std::string();
  };
  if (policy.fixed_threshold) {
    d.threshold = *policy.fixed_threshold;
    d.basis = "fixed";
    d.estimated_fpir = score_meaning(calibration, d.threshold, templates);
    d.why = score_words(profile, d.threshold) + ", fixed by the operator (--threshold)" + predicted(d.threshold);
    return d;
  }
  if (!policy.target_fpir || calibration == nullptr) {
    d.threshold = profile.threshold;
    d.basis = "profile_default";
    d.estimated_fpir = score_meaning(calibration, d.threshold, templates);
    d.why = score_words(profile, d.threshold) + ", the profile's default" +
            (calibration == nullptr && policy.target_fpir ? std::string(": the profile has no calibration, so no target FPIR can be met") : std::string()) +
            predicted(d.threshold);
    return d;
  }
  d.basis = "target_fpir";
  d.target_fpir = *policy.target_fpir;
  // The most views (up to those asked) whose share of the target the calibration can show: a
  // share below its lowest measured rate cannot be shown to hold, and more views there would
  // only multiply a stranger's chances at the same threshold.
  auto rate_for = [&](std::size_t views) {
    return false_match_rate_for(*policy.target_fpir / static_cast<double>(views), calibration->effective_comparisons(templates));
  };
  while (policy.may_use_fewer_views && d.searches_per_track > 1 && !calibration->score_at(rate_for(d.searches_per_track))) --d.searches_per_track;
  const double per_search = *policy.target_fpir / static_cast<double>(d.searches_per_track);
  const double rate = rate_for(d.searches_per_track);
  const auto score = calibration->score_at(rate);
  d.at_calibration_limit = !score;
  d.threshold = score ? *score : calibration->points().front().score;
  // Four decimals, rounded the strict way (a threshold that reads well and never lets more through).
  d.threshold = profile.metric == Metric::kEuclidean ? std::floor(d.threshold * 1e4) / 1e4 : std::ceil(d.threshold * 1e4) / 1e4;
  d.estimated_fpir = score_meaning(calibration, d.threshold, templates);
  d.why = score_words(profile, d.threshold) + ": the score at which " + rate_words(per_search) +
          " searches for someone not on " + list + " would match someone (target FPIR " + rate_words(*policy.target_fpir) +
          (d.searches_per_track > 1 ? " per track, shared by its up to " + std::to_string(d.searches_per_track) + " views" : std::string()) +
          "; " + calibration->source() + ")";
  if (d.at_calibration_limit)
    d.why += "; the target needs a false match rate of " + rate_words(rate) + " per comparison, below the lowest the calibration measured (" +
             rate_words(calibration->lowest_rate()) + "), so the strictest measured score is used: the target is not shown to be met, " +
             "and the calibration predicts an FPIR of " + rate_words(*d.estimated_fpir) + " there";
  return d;
}

nlohmann::json ThresholdInForce::to_json() const {
  nlohmann::json j = {{"threshold", threshold}, {"templates", templates}, {"basis", basis}, {"why", why},
                      {"at_calibration_limit", at_calibration_limit}};
  j["target_fpir"] = target_fpir ? nlohmann::json(*target_fpir) : nlohmann::json();
  j["searches_per_track"] = searches_per_track;
  j["estimated_fpir"] = estimated_fpir ? nlohmann::json(*estimated_fpir) : nlohmann::json();
  return j;
}

}  // namespace glassbox
