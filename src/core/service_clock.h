// ServiceClock: the time Glassbox acts on — now_utc() and now_utc_ms() (core/dates.h) read it.
// It is the wall clock as it was when the process first asked, advanced by CLOCK_BOOTTIME
// (which counts time asleep, and which no one can set). So when the wall clock is stepped — an
// operator's `date -s`, a bad time source, a virtual machine restored — this process's time does
// not jump with it:
//   - not back: an entry that expired stays expired, sessions and retention do not stretch, and
//     audit records, alerts and sessions keep their order;
//   - not forward: no entry expires, no session ends and no evidence is purged early.
// A step (the wall clock moving away from this clock by more than kStepToleranceMs at once) is
// counted and its size kept (steps(), wall_offset_ms()); the service reports it in /metrics and
// records it in the audit log, and adopts the new wall time only when it starts again.
// The floor: a process never acts at a time before one the deployment has already used (the
// audit log's newest record, raise_floor_ms()), so a restart after the wall clock went back does
// not go back either; its time then runs ahead of the wall clock until that catches up.
// The clock's readings come from a Source, which tests replace (set_source).
// Thread-safety: all members may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace glassbox {

struct ClockReading {
  std::int64_t wall_ms = 0;     // CLOCK_REALTIME, ms since the Unix epoch
  std::int64_t elapsed_ms = 0;  // CLOCK_BOOTTIME, ms since boot: never set, never stepped
};

class ServiceClock {
 public:
  using Source = std::function<ClockReading()>;
  static constexpr std::int64_t kStepToleranceMs = 2000;

  // The machine's clocks.
  static ClockReading read_system();

  explicit ServiceClock(Source source = read_system);

  std::int64_t now_ms();
  // This clock never reads earlier than `floor_ms` from now on (it moves forward to it if behind).
  void raise_floor_ms(std::int64_t floor_ms);
  // The wall clock minus this clock at the last reading (0 while no step was seen).
  std::int64_t wall_offset_ms() const;
  // Steps of the wall clock seen since the start.
  std::uint64_t steps() const;
  // Starts again from `source`, as a new process would (tests).
  void set_source(Source source);

 private:
  std::int64_t now_locked();

  mutable std::mutex mutex_;
  Source source_;
  bool anchored_ = false;
  std::int64_t anchor_wall_ms_ = 0;     // this clock's reading at anchor_elapsed_ms_
  std::int64_t anchor_elapsed_ms_ = 0;
  std::int64_t floor_ms_ = 0;
  std::int64_t offset_ms_ = 0;  // wall − this clock, as of the last step (or 0)
  std::uint64_t steps_ = 0;
};

// The process's clock.
ServiceClock& service_clock();

}  // namespace glassbox
