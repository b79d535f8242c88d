// LatencyHistogram: a Prometheus-style histogram of durations with fixed buckets (5 ms to 10 s),
// cheap enough to record every frame. Written as cumulative `_bucket{le=...}`, `_sum`, `_count`.
// Thread-safety: record() and write() from any thread (a mutex; contention is per frame, not per pixel).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>

namespace glassbox {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};

  void record(double seconds) {
    std::lock_guard lock(mutex_);
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts_[i];
    sum_ += seconds;
    ++count_;
  }

  // Writes the series for `name` with `labels` (e.g. camera="lobby"; may be empty).
  void write(std::ostream& out, const std::string& name, const std::string& labels) const {
    std::lock_guard lock(mutex_);
    const std::string sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      cumulative += counts_[i];
      out << name << "_bucket{" << labels << sep << "le=\"" << kBounds[i] << "\"} " << cumulative << "\n";
    }
    out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << count_ << "\n";
    out << name << "_sum" << (labels.empty() ? "" : "{" + labels + "}") << " " << sum_ << "\n";
    out << name << "_count" << (labels.empty() ? "" : "{" + labels + "}") << " " << count_ << "\n";
  }

  std::uint64_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  double sum() const {
    std::lock_guard lock(mutex_);
    return sum_;
  }

 private:
  mutable std::mutex mutex_;
  std::array<std::uint64_t, kBounds.size() + 1> counts_{};  // guarded by mutex_; the last is +Inf
  double sum_ = 0.0;                                       // guarded by mutex_
  std::uint64_t count_ = 0;                                // guarded by mutex_
};

}  // namespace glassbox
