// The detector and recognizer each worker thread owns (OpenCV's networks keep per-call state,
// so they are never shared), loaded up front so a missing model is one clear error before any
// work starts. Shared by `watch` and searches of recordings.
// Thread-safety: load_recognizers() from one thread; each Recognizer then belongs to one worker.
#pragma once

#include <memory>
#include <vector>

#include "detect/yunet_detector.h"
#include "embed/model_profile.h"
#include "embed/onnx_embedder.h"

namespace glassbox {

struct Recognizer {
  std::unique_ptr<YuNetDetector> detector;
  std::unique_ptr<OnnxEmbedder> embedder;
};

// `count` detector and recognizer pairs. Also sizes OpenCV's own thread pool to cores / count,
// so that the workers together do not oversubscribe the machine.
Result<std::vector<Recognizer>> load_recognizers(int count, const ModelProfile& profile, const DetectorOptions& detector);

}  // namespace glassbox
