// ExponentialBackoff: how long to wait before reconnecting a failed camera — doubling from
// `initial` up to `maximum`, with "full jitter" (a uniform draw between half the step and the
// step) so many cameras that fail together do not reconnect in lockstep. reset() after success.
// Thread-safety: one instance per camera, used by that camera's thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace glassbox {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds maximum{30000};
  double multiplier = 2.0;
};

class ExponentialBackoff {
 public:
  explicit ExponentialBackoff(BackoffPolicy policy, std::uint64_t seed = std::random_device{}())
      : policy_(policy), rng_(seed) {}

  // The next wait; each call after a failure grows the step.
  std::chrono::milliseconds next() {
    const double step = std::min(static_cast<double>(policy_.maximum.count()),
                                 static_cast<double>(policy_.initial.count()) * factor_);
    factor_ = std::min(factor_ * policy_.multiplier, 1e9);
    ++attempts_;
    std::uniform_real_distribution<double> jitter(step / 2.0, step);
    return std::chrono::milliseconds(static_cast<std::int64_t>(jitter(rng_)));
  }

  void reset() {
    factor_ = 1.0;
    attempts_ = 0;
  }
  int attempts() const { return attempts_; }
  // The longest wait next() can return: an upper bound for "frames resume within".
  std::chrono::milliseconds bound() const { return policy_.maximum; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  double factor_ = 1.0;
  int attempts_ = 0;
};

}  // namespace glassbox
