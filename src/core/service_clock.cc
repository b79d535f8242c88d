#include "core/service_clock.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>

namespace glassbox {
namespace {

std::int64_t read_ms(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

ClockReading ServiceClock::read_system() { return {read_ms(CLOCK_REALTIME), read_ms(CLOCK_BOOTTIME)}; }

ServiceClock::ServiceClock(Source source) : source_(std::move(source)) {}

std::int64_t ServiceClock::now_locked() {
  const ClockReading r = source_();
  if (!anchored_) {
    anchored_ = true;
    anchor_wall_ms_ = std::max(r.wall_ms, floor_ms_);
    anchor_elapsed_ms_ = r.elapsed_ms;
  }
  std::int64_t now = anchor_wall_ms_ + (r.elapsed_ms - anchor_elapsed_ms_);
  if (now < floor_ms_) {
    anchor_wall_ms_ += floor_ms_ - now;
    now = floor_ms_;
  }
  // A step: the wall clock moved away from this clock at once (slewing, NTP's usual way, moves
  // both clocks alike and is never seen here).
  const std::int64_t offset = r.wall_ms - now;
  if (std::llabs(offset - offset_ms_) > kStepToleranceMs) {
    ++steps_;
    offset_ms_ = offset;
  }
  return now;
}

std::int64_t ServiceClock::now_ms() {
  std::lock_guard lock(mutex_);
  return now_locked();
}

void ServiceClock::raise_floor_ms(std::int64_t floor_ms) {
  std::lock_guard lock(mutex_);
  if (floor_ms <= floor_ms_) return;
  floor_ms_ = floor_ms;
  if (anchored_) (void)now_locked();
}

std::int64_t ServiceClock::wall_offset_ms() const {
  std::lock_guard lock(mutex_);
  return offset_ms_;
}

std::uint64_t ServiceClock::steps() const {
  std::lock_guard lock(mutex_);
  return steps_;
}

void ServiceClock::set_source(Source source) {
  std::lock_guard lock(mutex_);
  source_ = std::move(source);
  anchored_ = false;
  floor_ms_ = 0;
  offset_ms_ = 0;
  steps_ = 0;
}

ServiceClock& service_clock() {
  static ServiceClock clock;
  return clock;
}

}  // namespace glassbox
