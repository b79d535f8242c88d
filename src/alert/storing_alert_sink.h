// StoringAlertSink: keeps every alert, with its face crop as a JPEG, in the alert store so a
// person can review it later — with its deliveries queued in the same transaction, and, when
// alerts are sightings (AlertWrite::realert_s), not again while the person stays in view: a
// repeat is counted in suppressed(), and a matched person still in view extends the sighting
// (at most every realert_s / 4). A failed write is counted and kept as the last error (the
// service reports both); it never throws into the frame path.
// Thread-safety: publish() may be called from several threads; writes are serialised by the
// mutex passed in, which every other user of the same store must hold too.
#pragma once

#include <chrono>
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

  void publish(const Alert& alert) override {
    std::vector<unsigned char> jpeg;
    if (!alert.face.empty()) cv::imencode(".jpg", alert.face, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
    const UnixSeconds now = now_utc();
    // The fence is read before the store's lock is taken: no lock is held inside another.
    const std::optional<WriteFence> fence = fence_ ? fence_(alert.source) : std::nullopt;
    Result<std::int64_t> id = Error{"not stored"};
    {
      std::lock_guard store_lock(store_mutex_);
      id = store_.record(alert, jpeg, now, now + retention_s_, AlertWrite{fence, realert_s_, deliver_to_});
    }
    {
      std::lock_guard lock(mutex_);
      if (!id && CameraLeases::is_fenced(id.error())) {
        ++fenced_;
        return;
      }
      if (!id && AlertStore::suppressed(id.error())) {
        ++suppressed_;
        extended_[{alert.source, alert.entry_id}] = std::chrono::steady_clock::now();
        return;
      }
      if (id) extended_[{alert.source, alert.entry_id}] = std::chrono::steady_clock::now();
      if (!id) {
        ++failures_;
        last_error_ = id.error().message;
        return;
      }
    }
    if (listener_) listener_(*id, alert);
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

 private:
  AlertStore& store_;
  std::mutex& store_mutex_;
  const UnixSeconds retention_s_;
  std::function<void(std::int64_t, const Alert&)> listener_;  // set before the first publish()
  std::function<std::optional<WriteFence>(const std::string&)> fence_;  // likewise
  int realert_s_ = 0;                                                   // likewise
  std::vector<std::string> deliver_to_;                                 // likewise
  mutable std::mutex mutex_;
  std::uint64_t failures_ = 0;  // guarded by mutex_
  std::uint64_t fenced_ = 0;    // guarded by mutex_
  std::uint64_t suppressed_ = 0;  // guarded by mutex_
  // When each (camera, entry) sighting was last written: the database is told at most every
  // realert_s / 4. Bounded by the cameras times the entries they matched.
  std::map<std::pair<std::string, std::int64_t>, std::chrono::steady_clock::time_point> extended_;  // guarded by mutex_
  std::string last_error_;      // guarded by mutex_
};

}  // namespace glassbox
