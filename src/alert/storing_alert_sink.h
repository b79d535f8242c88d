// StoringAlertSink: keeps every alert, with its face crop as a JPEG, in the alert store so a
// person can review it later. A failed write is counted and kept as the last error (the service
// reports both); it never throws into the frame path.
// Thread-safety: publish() may be called from several threads; writes are serialised by the
// mutex passed in, which every other user of the same store must hold too.
#pragma once

#include <functional>
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

  void publish(const Alert& alert) override {
    std::vector<unsigned char> jpeg;
    if (!alert.face.empty()) cv::imencode(".jpg", alert.face, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
    const UnixSeconds now = now_utc();
    // The fence is read before the store's lock is taken: no lock is held inside another.
    const std::optional<WriteFence> fence = fence_ ? fence_(alert.source) : std::nullopt;
    Result<std::int64_t> id = Error{"not stored"};
    {
      std::lock_guard store_lock(store_mutex_);
      id = store_.record(alert, jpeg, now, now + retention_s_, fence);
    }
    {
      std::lock_guard lock(mutex_);
      if (!id && AlertStore::fenced(id.error())) {
        ++fenced_;
        return;
      }
      if (!id) {
        ++failures_;
        last_error_ = id.error().message;
        return;
      }
    }
    if (listener_) listener_(*id, alert);
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
  mutable std::mutex mutex_;
  std::uint64_t failures_ = 0;  // guarded by mutex_
  std::uint64_t fenced_ = 0;    // guarded by mutex_
  std::string last_error_;      // guarded by mutex_
};

}  // namespace glassbox
