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
      p.alignment.landmark_template[i] = {tmpl[i][0].get<float>(), tmpl[i][1].get<float>()};
    }
    if (doc.contains("alignment")) {
      const auto& a = doc["alignment"];
      if (!a.is_object()) return bad("alignment", "must be an object");
      const std::string method = a.value("method", std::string());
      if (method == "similarity5") {
        p.alignment.method = AlignmentSpec::Method::kSimilarity5;
      } else if (method == "dlib_chip68") {
        p.alignment.method = AlignmentSpec::Method::kDlibChip68;
        if (!a.contains("shape_predictor") || !a["shape_predictor"].is_string() || a["shape_predictor"].get<std::string>().empty())
          return bad("alignment.shape_predictor", "must name the dlib shape predictor file");
        p.alignment.shape_predictor = a["shape_predictor"];
        if (!a.contains("padding") || !a["padding"].is_number() || a["padding"].get<double>() < 0 || a["padding"].get<double>() > 2)
          return bad("alignment.padding", "must be a number 0..2");
        p.alignment.padding = a["padding"];
        const auto& box = a.value("box", nlohmann::json());
        if (!box.is_object() || !box.contains("centre") || !box["centre"].is_array() || box["centre"].size() != 2 ||
            !box["centre"][0].is_number() || !box["centre"][1].is_number() || !box.contains("size") || !box["size"].is_number() ||
            box["size"].get<double>() <= 0)
          return bad("alignment.box", "must be {\"centre\": [x, y], \"size\": s > 0} in the template's frame");
        p.alignment.box_centre = {box["centre"][0].get<float>(), box["centre"][1].get<float>()};
        p.alignment.box_size = box["size"].get<float>();
        if (p.input_size.width != p.input_size.height) return bad("input_size", "must be square for dlib_chip68");
      } else {
        return bad("alignment.method", "must be \"similarity5\" or \"dlib_chip68\"");
      }
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
    if (doc.contains("calibration_file") && (!doc["calibration_file"].is_string() || doc["calibration_file"].get<std::string>().empty()))
      return bad("calibration_file", "must name a file in the profiles folder");
    p.calibration_file = doc.value("calibration_file", std::string());
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
