// AlertBroadcaster: pushes each stored alert to every connected live client (Server-Sent
// Events). Each subscriber has its own bounded queue: a slow client loses its oldest events
// (counted) and never holds up alert storage or other clients.
// Thread-safety: all members may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ingest/bounded_queue.h"

namespace glassbox {

class AlertBroadcaster {
 public:
  using Subscription = std::shared_ptr<DropOldestQueue<std::string>>;

  explicit AlertBroadcaster(std::size_t queue_per_client = 256) : capacity_(queue_per_client) {}

  Subscription subscribe() {
    auto queue = std::make_shared<DropOldestQueue<std::string>>(capacity_);
    std::lock_guard lock(mutex_);
    subscribers_[queue.get()] = queue;
    return queue;
  }
  void unsubscribe(const Subscription& s) {
    s->close();
    std::lock_guard lock(mutex_);
    dropped_ += s->dropped();
    subscribers_.erase(s.get());
  }
  // `event` is one JSON document; it is sent as an SSE "alert" event.
  void publish(const std::string& event) {
    std::lock_guard lock(mutex_);
    for (auto& [key, queue] : subscribers_) queue->push(event);
  }
  std::size_t clients() const {
    std::lock_guard lock(mutex_);
    return subscribers_.size();
  }
  // Events lost by slow clients (those still connected included).
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = dropped_;
    for (const auto& [key, queue] : subscribers_) total += queue->dropped();
    return total;
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<const void*, Subscription> subscribers_;  // guarded by mutex_
  std::uint64_t dropped_ = 0;                        // guarded by mutex_: from clients gone
};

}  // namespace glassbox
