// OnnxEmbedder: runs a profile's ONNX recognizer with OpenCV's DNN module on the CPU.
// Cosine profiles' outputs are L2-normalised here so that matching is a plain dot product.
// Thread-safety: one thread at a time (cv::dnn::Net keeps per-forward state).
#pragma once

#include <memory>

#include <opencv2/dnn.hpp>

#include "embed/embedder.h"

namespace glassbox {

class OnnxEmbedder final : public Embedder {
 public:
  static Result<std::unique_ptr<OnnxEmbedder>> create(const ModelProfile& profile);

  Result<std::vector<float>> embed(const cv::Mat& chip) override;
  const ModelProfile& profile() const override { return profile_; }

 private:
  OnnxEmbedder(ModelProfile profile, cv::dnn::Net net);

  ModelProfile profile_;
  cv::dnn::Net net_;
};

}  // namespace glassbox
