// FakeFrameSource: a scripted FrameSource for tests of the live path — frames, errors, the end
// of the stream and delays (a stalled camera), in the order given.
#pragma once

#include <chrono>
#include <thread>
#include <vector>

#include "ingest/frame_source.h"

namespace glassbox::test {

struct FakeStep {
  enum Kind { kFrame, kError, kEnd, kDelay } kind = kFrame;
  int delay_ms = 0;
};

class FakeFrameSource final : public FrameSource {
 public:
  FakeFrameSource(std::vector<FakeStep> steps, double fps = 25.0) : steps_(std::move(steps)), fps_(fps) {}

  Result<std::optional<FrameHeader>> grab() override {
    while (next_ < steps_.size()) {
      const FakeStep step = steps_[next_++];
      switch (step.kind) {
        case FakeStep::kDelay: std::this_thread::sleep_for(std::chrono::milliseconds(step.delay_ms)); continue;
        case FakeStep::kError: return Error{"fake: read error"};
        case FakeStep::kEnd: return std::optional<FrameHeader>{};
        case FakeStep::kFrame: {
          FrameHeader h;
          h.index = frames_;
          h.timestamp_s = static_cast<double>(frames_) / fps_;
          ++frames_;
          return std::optional<FrameHeader>{h};
        }
      }
    }
    return std::optional<FrameHeader>{};
  }
  Result<Frame> retrieve() override { return Frame::from_bgr(cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3))); }
  double nominal_fps() const override { return fps_; }
  const std::string& name() const override { return name_; }

  static std::vector<FakeStep> frames(int n) { return std::vector<FakeStep>(static_cast<std::size_t>(n), FakeStep{}); }

 private:
  std::vector<FakeStep> steps_;
  double fps_;
  std::size_t next_ = 0;
  std::int64_t frames_ = 0;
  std::string name_ = "fake";
};

}  // namespace glassbox::test
