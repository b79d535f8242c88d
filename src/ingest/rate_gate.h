// RateGate: picks which frames to analyse so that about `rate` frames per second of stream time
// are, evenly spaced, whatever the source's own frame rate. Used by `watch` and by live cameras.
// Thread-safety: one instance per source.
#pragma once

namespace glassbox {

class RateGate {
 public:
  explicit RateGate(double rate_fps) : period_(rate_fps > 0.0 ? 1.0 / rate_fps : 0.0) {}

  // True when the frame at `timestamp_s` should be analysed.
  bool admit(double timestamp_s) {
    if (period_ <= 0.0) return true;
    if (!started_ || timestamp_s + 1e-6 >= next_s_) {
      next_s_ = started_ ? next_s_ + period_ : timestamp_s + period_;
      if (next_s_ <= timestamp_s) next_s_ = timestamp_s + period_;  // after a gap, restart the cadence
      started_ = true;
      return true;
    }
    return false;
  }

 private:
  double period_;
  double next_s_ = 0.0;
  bool started_ = false;
};

}  // namespace glassbox
