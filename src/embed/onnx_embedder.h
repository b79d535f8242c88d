// OnnxEmbedder: runs a profile's ONNX recognizer with OpenCV's DNN module on the CPU.
// Cosine profiles' outputs are L2-normalised here so that matching is a plain dot product.
// Chips are run in batches of up to kMaxBatch when the network accepts a batch (found out at
// load time; MobileFaceNet's graph fixes its batch to 1 and runs one chip at a time).
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
  std::vector<Result<std::vector<float>>> embed_batch(const std::vector<cv::Mat>& chips) override;
  const ModelProfile& profile() const override { return profile_; }
  const FaceAligner& aligner() const override { return *aligner_; }
  // The most chips one forward pass takes: kMaxBatch, or 1 for a graph with a fixed batch.
  int max_batch() const { return max_batch_; }

  // Beyond this a batch gains nothing measurable on this network (glassbox bench) and only
  // holds the first face's result back longer.
  static constexpr int kMaxBatch = 8;

 private:
  OnnxEmbedder(ModelProfile profile, std::shared_ptr<const FaceAligner> aligner, cv::dnn::Net net, int max_batch);
  // One forward pass over chips[first, first + count); one result per chip.
  void forward(const std::vector<cv::Mat>& chips, std::size_t first, std::size_t count, std::vector<Result<std::vector<float>>>& out);
  Result<std::vector<float>> finish(const float* data, int values);

  ModelProfile profile_;
  std::shared_ptr<const FaceAligner> aligner_;  // shared by every embedder of the profile
  cv::dnn::Net net_;
  int max_batch_ = 1;
};

}  // namespace glassbox
