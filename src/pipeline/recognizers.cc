#include "pipeline/recognizers.h"

#include <algorithm>
#include <thread>

#include <opencv2/core.hpp>

namespace glassbox {

Result<std::vector<Recognizer>> load_recognizers(int count, const ModelProfile& profile, const DetectorOptions& detector_options) {
  std::vector<Recognizer> out(static_cast<std::size_t>(std::max(count, 0)));
  for (Recognizer& r : out) {
    auto detector = YuNetDetector::create(detector_options);
    if (!detector) return detector.error();
    auto embedder = OnnxEmbedder::create(profile);
    if (!embedder) return embedder.error();
    r.detector = std::move(*detector);
    r.embedder = std::move(*embedder);
  }
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  if (count > 0) cv::setNumThreads(std::max(1, cores / count));
  return out;
}

}  // namespace glassbox
