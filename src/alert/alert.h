// Alert: a face on a source matched an active watchlist entry. It carries what a reviewer needs
// to find the moment again (source, image or stream time, box) and the crop of that face as
// evidence — only ever of a face that matched — and never the template itself.
// AlertSink: where alerts go (JSON lines on stdout for `watch`; a collecting fake in tests;
// the service's store and push channels later).
// Thread-safety: implementations of AlertSink must accept publish() from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "quality/face_quality.h"

namespace glassbox {

struct Alert {
  std::string subject;
  std::int64_t entry_id = 0;
  double score = 0.0;
  std::string metric;       // "euclidean" (score is a distance) or "cosine" (a similarity)
  double threshold = 0.0;
  // What the score means: the share of searches for someone not on the list that would score
  // this close to somebody on it (the FPIR the profile's calibration predicts at this score for
  // a list of `list_templates` templates); unset when the profile has no calibration.
  std::optional<double> estimated_fpir;
  std::size_t list_templates = 0;
  std::string profile;
  std::string source;       // the source as named by the user
  std::string item;         // image sources: the image file's name
  double timestamp_s = 0.0; // position in the stream
  std::int64_t frame_index = 0;
  std::uint64_t track_id = 0;
  cv::Rect box;             // in the frame's full-resolution pixels
  std::optional<FaceQuality> quality;  // of the view that matched: how much a reviewer can trust it
  cv::Mat face;             // evidence: the matched face with a margin, cut from the frame (BGR)
  // Live cameras: when the frame was decoded (unset elsewhere); now - captured_at at publish
  // is the frame-to-alert latency.
  std::chrono::steady_clock::time_point captured_at{};
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void publish(const Alert& alert) = 0;
  // A person this source alerted on is still in view (a matched track goes on): called for each
  // frame in which they are. Sinks that treat alerts as sightings extend theirs.
  virtual void still_in_view(const std::string& source, std::int64_t entry_id) {
    (void)source;
    (void)entry_id;
  }
};

// Collects alerts in memory (tests, and the demo's narration).
class CollectingAlertSink final : public AlertSink {
 public:
  void publish(const Alert& alert) override {
    std::lock_guard lock(mutex_);
    alerts_.push_back(alert);
  }
  std::vector<Alert> alerts() const {
    std::lock_guard lock(mutex_);
    return alerts_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Alert> alerts_;
};

// Sends every alert to several sinks in turn.
class FanOutAlertSink final : public AlertSink {
 public:
  explicit FanOutAlertSink(std::vector<AlertSink*> sinks) : sinks_(std::move(sinks)) {}
  void publish(const Alert& alert) override {
    for (AlertSink* sink : sinks_) sink->publish(alert);
  }
  void still_in_view(const std::string& source, std::int64_t entry_id) override {
    for (AlertSink* sink : sinks_) sink->still_in_view(source, entry_id);
  }

 private:
  std::vector<AlertSink*> sinks_;
};

}  // namespace glassbox
