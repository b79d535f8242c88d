// StoringAlertSink: keeps every alert, with its face crop as a JPEG, in the alert store so a
// person can review it later — with its deliveries queued in the same transaction, and, when
// alerts are sightings (AlertWrite::realert_s), not again while the person stays in view: a
// repeat is counted in suppressed(), and a matched person still in view extends the sighting
// (at most every realert_s / 4).
// An alert whose write fails in a way that may pass (a full or failing disk, a busy database, a
// lost connection) is not lost: it waits in memory, in order, and is written again before the next alert and by
// store_waiting(), which the service calls every few seconds; its raised_at stays when it was
// raised. At most kMaxWaiting wait; past that the oldest is dropped and counted. Failed writes are
// counted and the last error kept (the service reports them); nothing throws into the frame path.
// Waiting alerts are in memory only: a crash loses them (a clean stop tries them once more).
// Thread-safety: publish() may be called from several threads; writes are serialised by the
// mutex passed in, which every other user of the same store must hold too.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include <opencv2/imgcodecs.hpp>

#include "store/alert_store.h"

namespace glassbox {

class StoringAlertSink final : public AlertSink {
 public:
  StoringAlertSink(AlertStore& store, std::mutex& store_mutex, int evidence_retention_days)
      : store_(store), store_mutex_(store_mutex), retention_s_(static_cast<UnixSeconds>(evidence_retention_days) * 86400) {}

  // Called after an alert is stored, with its id (for pushing it to live clients).
  void on_stored(std::function<void(std::int64_t, const Alert&)> listener) { listener_ = std::move(listener); }
  // A cluster's node: the fence each alert of a leased camera is written under (nullopt for a
  // camera that is the node's own). An alert refused by its fence is counted in fenced(), not
  // as a failure: the camera's new holder analyses the same stream. Set before the first publish().
  void fence_with(std::function<std::optional<WriteFence>(const std::string& camera)> fence) { fence_ = std::move(fence); }
  // Sightings and deliveries (AlertWrite without its fence). Set before the first publish().
  void write_as(int realert_s, std::vector<std::string> deliver_to) {
    realert_s_ = realert_s;
    deliver_to_ = std::move(deliver_to);
  }

  static constexpr std::size_t kMaxWaiting = 256;

  void publish(const Alert& alert) override {
    Waiting next;
    if (!alert.face.empty()) cv::imencode(".jpg", alert.face, next.jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
    next.alert = alert;
    next.alert.face = cv::Mat();  // the JPEG is what is kept
    next.raised_at = now_utc();
    // Those that wait were raised first: they are written first.
    store_waiting();
    if (waiting() == 0 && write(next)) return;
    std::lock_guard lock(mutex_);
    next.seq = ++waiting_seq_;
    waiting_.push_back(std::move(next));
    if (waiting_.size() > kMaxWaiting) {
      waiting_.pop_front();
      ++dropped_;
    }
  }
  // Writes the waiting alerts, oldest first, until one fails. Returns how many were written.
  std::size_t store_waiting() {
    std::unique_lock writing(retry_mutex_, std::try_to_lock);
    if (!writing.owns_lock()) return 0;  // another thread is at it
    std::size_t written = 0;
    while (true) {
      Waiting next;
      {
        std::lock_guard lock(mutex_);
        if (waiting_.empty()) return written;
        next = waiting_.front();
      }
      if (!write(next)) return written;
      std::lock_guard lock(mutex_);
      // publish() may have dropped it meanwhile (the queue overflowed): remove only this one.
      if (!waiting_.empty() && waiting_.front().seq == next.seq) waiting_.pop_front();
      ++stored_late_;
      ++written;
    }
  }
  void still_in_view(const std::string& source, std::int64_t entry_id) override {
    if (realert_s_ <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex_);
      auto& last = extended_[{source, entry_id}];
      if (now - last < std::chrono::milliseconds(realert_s_ * 250)) return;
      last = now;
    }
    Status extended = ok_status();
    {
      std::lock_guard store_lock(store_mutex_);
      extended = store_.seen(source, entry_id, now_utc());
    }
    if (!extended) {
      std::lock_guard lock(mutex_);
      ++failures_;
      last_error_ = extended.error().message;
    }
  }
  std::uint64_t suppressed() const {
    std::lock_guard lock(mutex_);
    return suppressed_;
  }
  std::uint64_t failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  std::uint64_t fenced() const {
    std::lock_guard lock(mutex_);
    return fenced_;
  }
  std::string last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }
  // Alerts waiting to be written; written after waiting; dropped because too many waited.
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
  }
  std::uint64_t stored_late() const {
    std::lock_guard lock(mutex_);
    return stored_late_;
  }
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  struct Waiting {
    Alert alert;  // without its pixels
    std::vector<unsigned char> jpeg;
    UnixSeconds raised_at = 0;
    std::uint64_t seq = 0;
  };

  // One attempt. True when the alert is settled: stored, rightly not (a repeat of a sighting, or
  // refused by its fence), or failed for good (counted); false when the write failed in a way
  // that may pass (counted) and it should wait.
  bool write(const Waiting& w) {
    // The fence is read before the store's lock is taken: no lock is held inside another.
    const std::optional<WriteFence> fence = fence_ ? fence_(w.alert.source) : std::nullopt;
    Result<std::int64_t> id = Error{"not stored"};
    {
      std::lock_guard store_lock(store_mutex_);
      id = store_.record(w.alert, w.jpeg, w.raised_at, w.raised_at + retention_s_, AlertWrite{fence, realert_s_, deliver_to_});
    }
    {
      std::lock_guard lock(mutex_);
      if (!id && CameraLeases::is_fenced(id.error())) {
        ++fenced_;
        return true;
      }
      if (!id && AlertStore::suppressed(id.error())) {
        ++suppressed_;
        extended_[{w.alert.source, w.alert.entry_id}] = std::chrono::steady_clock::now();
        return true;
      }
      if (!id) {
        ++failures_;
        last_error_ = id.error().message;
        // Only a failure that may pass waits (a disk full or failing, a database busy or its
        // connection lost); one that will not (a constraint) would hold every later alert back.
        const std::string& m = id.error().message;
        return !(is_storage_fault(m) || m.find("database is locked") != std::string::npos || m.find("connection") != std::string::npos);
      }
      extended_[{w.alert.source, w.alert.entry_id}] = std::chrono::steady_clock::now();
    }
    if (listener_) listener_(*id, w.alert);
    return true;
  }

  AlertStore& store_;
  std::mutex& store_mutex_;
  const UnixSeconds retention_s_;
  std::function<void(std::int64_t, const Alert&)> listener_;  // set before the first publish()
  std::function<std::optional<WriteFence>(const std::string&)> fence_;  // likewise
  int realert_s_ = 0;                                                   // likewise
  std::vector<std::string> deliver_to_;                                 // likewise
  mutable std::mutex mutex_;
  std::mutex retry_mutex_;      // held by the one thread writing waiting alerts
  std::deque<Waiting> waiting_;  // guarded by mutex_; oldest first
  std::uint64_t waiting_seq_ = 0;  // guarded by mutex_
  std::uint64_t stored_late_ = 0;  // guarded by mutex_
  std::uint64_t dropped_ = 0;      // guarded by mutex_
  std::uint64_t failures_ = 0;  // guarded by mutex_
  std::uint64_t fenced_ = 0;    // guarded by mutex_
  std::uint64_t suppressed_ = 0;  // guarded by mutex_
  // When each (camera, entry) sighting was last written: the database is told at most every
  // realert_s / 4. Bounded by the cameras times the entries they matched.
  std::map<std::pair<std::string, std::int64_t>, std::chrono::steady_clock::time_point> extended_;  // guarded by mutex_
  std::string last_error_;      // guarded by mutex_
};

}  // namespace glassbox
