#include "embed/onnx_embedder.h"

#include <cmath>

#include <opencv2/dnn/all_layers.hpp>

#include "core/paths.h"

namespace glassbox {
namespace {

cv::Mat run(cv::dnn::Net& net, const ModelProfile& profile, const std::vector<cv::Mat>& chips) {
  net.setInput(cv::dnn::blobFromImages(chips, 1.0, profile.input_size, cv::Scalar(), profile.rgb_input, false));
  return (profile.output_name.empty() ? net.forward() : net.forward(profile.output_name)).clone();
}

// ONNX exporters write per-channel constants with a leading batch axis ([1, C, 1, 1], as the
// dlib port's mean subtraction is). OpenCV 4.6 imports them as a Scale layer whose weights
// start at axis 0, which fits a batch of one only. Starting them at the channel axis is the
// same arithmetic for one chip and lets a batch through. True when some layer was changed.
bool let_constants_broadcast_over_the_batch(cv::dnn::Net& net) {
  bool changed = false;
  for (const std::string& name : net.getLayerNames()) {
    const cv::Ptr<cv::dnn::Layer> layer = net.getLayer(name);
    if (auto scale = layer.dynamicCast<cv::dnn::ScaleLayer>(); scale && scale->axis == 0 && !scale->blobs.empty()) {
      scale->axis = 1;
      changed = true;
    }
  }
  return changed;
}

// Whether the network, changed as above, gives one chip the template the unchanged one gave
// (`one_a` for chip a) and two chips at once the templates they get one by one.
bool accepts_batches(cv::dnn::Net& net, const ModelProfile& profile, const cv::Mat& a, const cv::Mat& b, const cv::Mat& one_a) {
  try {
    const cv::Mat again_a = run(net, profile, {a}), one_b = run(net, profile, {b}), both = run(net, profile, {a, b});
    if (again_a.total() != one_a.total() || cv::norm(again_a.reshape(1, 1), one_a.reshape(1, 1), cv::NORM_INF) > 1e-5) return false;
    if (both.total() != 2 * one_a.total()) return false;
    const cv::Mat flat = both.reshape(1, 2);
    return cv::norm(flat.row(0), one_a.reshape(1, 1), cv::NORM_INF) < 1e-4 && cv::norm(flat.row(1), one_b.reshape(1, 1), cv::NORM_INF) < 1e-4;
  } catch (const cv::Exception&) {
    return false;
  }
}

}  // namespace

OnnxEmbedder::OnnxEmbedder(ModelProfile profile, std::shared_ptr<const FaceAligner> aligner, cv::dnn::Net net, int max_batch)
    : profile_(std::move(profile)), aligner_(std::move(aligner)), net_(std::move(net)), max_batch_(max_batch) {}

Result<std::unique_ptr<OnnxEmbedder>> OnnxEmbedder::create(const ModelProfile& profile) {
  auto model = find_model_file(profile.model_file);
  if (!model) return model.error().within("profile " + profile.name);
  auto aligner = make_face_aligner(profile.alignment, profile.input_size);
  if (!aligner) return aligner.error().within("profile " + profile.name);
  try {
    auto load = [&] {
      cv::dnn::Net net = cv::dnn::readNetFromONNX(model->string());
      net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      return net;
    };
    cv::dnn::Net net = load();
    if (net.empty()) return Error{model->string() + ": could not load the recognizer"};
    // Batches where the graph allows them, checked on two random chips; else one chip at a time
    // on the network as it was loaded.
    cv::Mat a(profile.input_size, CV_8UC3), b(profile.input_size, CV_8UC3);
    cv::randu(a, 0, 256);
    cv::randu(b, 0, 256);
    const cv::Mat one_a = run(net, profile, {a});
    int max_batch = 1;
    const bool changed = let_constants_broadcast_over_the_batch(net);
    if (accepts_batches(net, profile, a, b, one_a)) {
      max_batch = kMaxBatch;
    } else if (changed) {
      net = load();
    }
    return std::unique_ptr<OnnxEmbedder>(new OnnxEmbedder(profile, std::move(*aligner), std::move(net), max_batch));
  } catch (const cv::Exception& e) {
    return Error{model->string() + ": could not load the recognizer: " + e.what()};
  }
}

Result<std::vector<float>> OnnxEmbedder::embed(const cv::Mat& chip) {
  auto out = embed_batch({chip});
  return std::move(out.front());
}

std::vector<Result<std::vector<float>>> OnnxEmbedder::embed_batch(const std::vector<cv::Mat>& chips) {
  std::vector<Result<std::vector<float>>> out;
  out.reserve(chips.size());
  std::vector<cv::Mat> good;  // the chips that can go into the network, in order
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < chips.size(); ++i) {
    const cv::Mat& chip = chips[i];
    if (chip.empty() || chip.type() != CV_8UC3 || chip.size() != profile_.input_size) {
      out.push_back(Error{"embedder " + profile_.name + " needs an aligned 8-bit BGR chip of its input size"});
    } else {
      out.push_back(Error{"not embedded"});
      good.push_back(chip);
      where.push_back(i);
    }
  }
  std::vector<Result<std::vector<float>>> results;
  results.reserve(good.size());
  for (std::size_t first = 0; first < good.size(); first += static_cast<std::size_t>(max_batch_))
    forward(good, first, std::min(good.size() - first, static_cast<std::size_t>(max_batch_)), results);
  for (std::size_t k = 0; k < where.size(); ++k) out[where[k]] = std::move(results[k]);
  return out;
}

void OnnxEmbedder::forward(const std::vector<cv::Mat>& chips, std::size_t first, std::size_t count,
                           std::vector<Result<std::vector<float>>>& out) {
  cv::Mat output;
  try {
    // NCHW float32, pixel values 0..255: both shipped models normalise inside the graph.
    const std::vector<cv::Mat> batch(chips.begin() + static_cast<std::ptrdiff_t>(first),
                                     chips.begin() + static_cast<std::ptrdiff_t>(first + count));
    net_.setInput(cv::dnn::blobFromImages(batch, 1.0, profile_.input_size, cv::Scalar(), profile_.rgb_input, false));
    output = profile_.output_name.empty() ? net_.forward() : net_.forward(profile_.output_name);
  } catch (const cv::Exception& e) {
    const Error failed{"embedder " + profile_.name + ": inference failed: " + e.what()};
    out.insert(out.end(), count, failed);
    return;
  }
  if (output.total() != count * static_cast<std::size_t>(profile_.dimension)) {
    const Error wrong{"embedder " + profile_.name + ": output has " + std::to_string(output.total() / count) +
                      " values per face, profile says " + std::to_string(profile_.dimension)};
    out.insert(out.end(), count, wrong);
    return;
  }
  const float* data = output.ptr<float>();
  for (std::size_t i = 0; i < count; ++i) out.push_back(finish(data + i * static_cast<std::size_t>(profile_.dimension), profile_.dimension));
}

Result<std::vector<float>> OnnxEmbedder::finish(const float* data, int values) {
  std::vector<float> vector(data, data + values);
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
