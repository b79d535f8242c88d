#include "embed/model_profile.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/paths.h"

namespace glassbox {

const char* metric_name(Metric metric) { return metric == Metric::kEuclidean ? "euclidean" : "cosine"; }

Result<ModelProfile> parse_model_profile(const std::string& json_text, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return Error{origin + ": not valid JSON: " + e.what()};
  }
  if (!doc.is_object()) return Error{origin + ": a profile is a JSON object"};
  auto bad = [&](const std::string& field, const std::string& why) { return Error{origin + ": field '" + field + "' " + why}; };

  ModelProfile p;
  try {
    if (!doc.contains("name") || !doc["name"].is_string() || doc["name"].get<std::string>().empty())
      return bad("name", "must be a non-empty string");
    p.name = doc["name"];
    if (!doc.contains("model") || !doc["model"].is_string()) return bad("model", "must name the ONNX file");
    p.model_file = doc["model"];
    const auto& size = doc.value("input_size", nlohmann::json());
    if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() || !size[1].is_number_integer() ||
        size[0].get<int>() < 16 || size[1].get<int>() < 16 || size[0].get<int>() > 1024 || size[1].get<int>() > 1024)
      return bad("input_size", "must be [width, height], each 16..1024");
    p.input_size = cv::Size(size[0].get<int>(), size[1].get<int>());
    const std::string order = doc.value("channel_order", std::string());
    if (order != "rgb" && order != "bgr") return bad("channel_order", "must be \"rgb\" or \"bgr\"");
    p.rgb_input = order == "rgb";
    const auto& tmpl = doc.value("template", nlohmann::json());
    if (!tmpl.is_array() || tmpl.size() != 5) return bad("template", "must hold 5 [x, y] points");
    for (std::size_t i = 0; i < 5; ++i) {
      if (!tmpl[i].is_array() || tmpl[i].size() != 2 || !tmpl[i][0].is_number() || !tmpl[i][1].is_number())
        return bad("template", "point " + std::to_string(i) + " must be [x, y]");
      p.alignment_template[i] = {tmpl[i][0].get<float>(), tmpl[i][1].get<float>()};
    }
    if (doc.contains("output") && !doc["output"].is_string()) return bad("output", "must name the output layer (or be \"\" for the network's last)");
    p.output_name = doc.value("output", std::string());
    if (!doc.contains("dimension") || !doc["dimension"].is_number_integer() || doc["dimension"].get<int>() < 1 ||
        doc["dimension"].get<int>() > 4096)
      return bad("dimension", "must be an integer 1..4096");
    p.dimension = doc["dimension"];
    const std::string metric = doc.value("metric", std::string());
    if (metric == "euclidean") {
      p.metric = Metric::kEuclidean;
    } else if (metric == "cosine") {
      p.metric = Metric::kCosine;
    } else {
      return bad("metric", "must be \"euclidean\" or \"cosine\"");
    }
    if (!doc.contains("threshold") || !doc["threshold"].is_number()) return bad("threshold", "must be a number");
    p.threshold = doc["threshold"];
    p.threshold_source = doc.value("threshold_source", std::string());
    if (doc.contains("calibration")) {
      const auto& c = doc["calibration"];
      if (!c.is_object() || !c.contains("false_positive_identification_rate") || !c["false_positive_identification_rate"].is_number() ||
          c["false_positive_identification_rate"].get<double>() <= 0 || c["false_positive_identification_rate"].get<double>() >= 1)
        return bad("calibration.false_positive_identification_rate", "must be a number between 0 and 1");
      if (!c.contains("gallery_size") || !c["gallery_size"].is_number_integer() || c["gallery_size"].get<int>() < 1)
        return bad("calibration.gallery_size", "must be a positive integer");
      if (!c.contains("dataset") || !c["dataset"].is_string()) return bad("calibration.dataset", "must be a string");
      p.calibration = ModelProfile::Calibration{c["false_positive_identification_rate"], c["gallery_size"], c["dataset"]};
    }
  } catch (const nlohmann::json::exception& e) {
    return Error{origin + ": " + e.what()};
  }
  return p;
}

Result<ModelProfile> load_model_profile(const std::string& name_or_path) {
  std::filesystem::path path(name_or_path);
  if (path.extension() != ".json") path = profiles_dir() / (name_or_path + ".json");
  std::ifstream in(path);
  if (!in) return Error{"model profile '" + name_or_path + "' not found (looked for " + path.string() + ")"};
  std::stringstream text;
  text << in.rdbuf();
  return parse_model_profile(text.str(), path.string());
}

}  // namespace glassbox
