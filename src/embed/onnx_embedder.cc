#include "embed/onnx_embedder.h"

#include <cmath>

#include "core/paths.h"

namespace glassbox {

OnnxEmbedder::OnnxEmbedder(ModelProfile profile, cv::dnn::Net net) : profile_(std::move(profile)), net_(std::move(net)) {}

Result<std::unique_ptr<OnnxEmbedder>> OnnxEmbedder::create(const ModelProfile& profile) {
  auto model = find_model_file(profile.model_file);
  if (!model) return model.error().within("profile " + profile.name);
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(model->string());
    if (net.empty()) return Error{model->string() + ": could not load the recognizer"};
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::unique_ptr<OnnxEmbedder>(new OnnxEmbedder(profile, std::move(net)));
  } catch (const cv::Exception& e) {
    return Error{model->string() + ": could not load the recognizer: " + e.what()};
  }
}

Result<std::vector<float>> OnnxEmbedder::embed(const cv::Mat& chip) {
  if (chip.empty() || chip.type() != CV_8UC3 || chip.size() != profile_.input_size)
    return Error{"embedder " + profile_.name + " needs an aligned 8-bit BGR chip of its input size"};
  cv::Mat output;
  try {
    // NCHW float32, pixel values 0..255: both shipped models normalise inside the graph.
    const cv::Mat blob = cv::dnn::blobFromImage(chip, 1.0, profile_.input_size, cv::Scalar(), profile_.rgb_input, false);
    net_.setInput(blob);
    output = profile_.output_name.empty() ? net_.forward() : net_.forward(profile_.output_name);
  } catch (const cv::Exception& e) {
    return Error{"embedder " + profile_.name + ": inference failed: " + e.what()};
  }
  if (static_cast<int>(output.total()) != profile_.dimension)
    return Error{"embedder " + profile_.name + ": output has " + std::to_string(output.total()) + " values, profile says " +
                 std::to_string(profile_.dimension)};
  const float* data = output.ptr<float>();
  std::vector<float> vector(data, data + profile_.dimension);
  if (profile_.metric == Metric::kCosine) {
    double norm = 0.0;
    for (float v : vector) norm += static_cast<double>(v) * v;
    norm = std::sqrt(norm);
    if (norm < 1e-12) return Error{"embedder " + profile_.name + ": zero output"};
    for (float& v : vector) v = static_cast<float>(v / norm);
  }
  return vector;
}

}  // namespace glassbox
