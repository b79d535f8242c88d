// AlertBroadcaster: pushes each stored alert to every connected live client (Server-Sent
// Events). Each subscriber has its own bounded queue: a slow client loses its oldest events
// (counted) and never holds up alert storage or other clients. A subscription belongs to one
// credential (a browser session or an API token) of one account and ends when that credential
// does (logout, revocation, a password change, the account disabled), at once, or when it
// expires: the HTTP server is woken to close the stream.
// Thread-safety: all members may be called from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/dates.h"

namespace glassbox {

class AlertBroadcaster {
 public:
  class Subscription {
   public:
    Subscription(std::string user, std::string credential, std::string credential_key, UnixSeconds expires_at, std::size_t capacity)
        : user_(std::move(user)), credential_(std::move(credential)), credential_key_(std::move(credential_key)),
          expires_at_(expires_at), capacity_(capacity) {}
    const std::string& user() const { return user_; }
    const std::string& credential() const { return credential_; }
    const std::string& credential_key() const { return credential_key_; }
    // The next event, "" when none is waiting, nullopt once the subscription has ended.
    std::optional<std::string> next(UnixSeconds now) {
      std::lock_guard lock(mutex_);
      if (closed_ || now >= expires_at_) return std::nullopt;
      if (events_.empty()) return std::string();
      std::string e = std::move(events_.front());
      events_.pop_front();
      return e;
    }
    void set_waker(std::function<void()> wake) {
      std::lock_guard lock(mutex_);
      wake_ = std::move(wake);
    }
    std::uint64_t dropped() const {
      std::lock_guard lock(mutex_);
      return dropped_;
    }

   private:
    friend class AlertBroadcaster;
    void push(const std::string& event) {
      std::function<void()> wake;
      {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        if (events_.size() >= capacity_) {
          events_.pop_front();
          ++dropped_;
        }
        events_.push_back(event);
        wake = wake_;
      }
      if (wake) wake();
    }
    void end() {
      std::function<void()> wake;
      {
        std::lock_guard lock(mutex_);
        closed_ = true;
        wake = std::move(wake_);
      }
      if (wake) wake();
    }
    const std::string user_, credential_, credential_key_;
    const UnixSeconds expires_at_;
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<std::string> events_;  // guarded by mutex_
    std::function<void()> wake_;      // guarded by mutex_
    bool closed_ = false;             // guarded by mutex_
    std::uint64_t dropped_ = 0;       // guarded by mutex_
  };
  using Handle = std::shared_ptr<Subscription>;

  explicit AlertBroadcaster(std::size_t queue_per_client = 256) : capacity_(queue_per_client) {}

  // nullopt when `max_total` streams are open, or `max_per_user` for this account.
  std::optional<Handle> subscribe(const std::string& user, const std::string& credential, const std::string& credential_key,
                                  UnixSeconds expires_at, std::size_t max_total, std::size_t max_per_user) {
    std::lock_guard lock(mutex_);
    std::size_t mine = 0;
    for (const auto& [key, s] : subscribers_) mine += s->user() == user ? 1 : 0;
    if (subscribers_.size() >= max_total || mine >= max_per_user) return std::nullopt;
    auto s = std::make_shared<Subscription>(user, credential, credential_key, expires_at, capacity_);
    subscribers_[s.get()] = s;
    return s;
  }
  void unsubscribe(const Handle& s) {
    s->end();
    std::lock_guard lock(mutex_);
    if (subscribers_.erase(s.get()) > 0) dropped_ += s->dropped();
  }
  // `event` is one JSON document; it is sent as an SSE "alert" event.
  void publish(const std::string& event) {
    std::lock_guard lock(mutex_);
    for (auto& [key, s] : subscribers_) s->push(event);
  }
  // Ends the streams of one credential, or of every credential of an account (credential ""),
  // or of every credential but `credential` (`all_but`).
  std::size_t end_streams(const std::string& user, const std::string& credential, bool all_but = false) {
    std::lock_guard lock(mutex_);
    std::size_t ended = 0;
    for (auto& [key, s] : subscribers_) {
      if (s->user() != user) continue;
      const bool same = s->credential() == credential;
      if (credential.empty() || (all_but ? !same : same)) {
        s->end();
        ++ended;
      }
    }
    return ended;
  }
  // Ends every stream whose credential `still_valid` says has ended (a change made by another
  // process: the command line, another node). Returns how many ended.
  template <typename Check>
  std::size_t end_invalid(Check still_valid) {
    std::vector<Handle> all;
    {
      std::lock_guard lock(mutex_);
      for (auto& [key, s] : subscribers_) all.push_back(s);
    }
    std::size_t ended = 0;
    for (auto& s : all)
      if (!still_valid(s->credential_key())) {
        s->end();
        ++ended;
      }
    return ended;
  }
  std::size_t clients() const {
    std::lock_guard lock(mutex_);
    return subscribers_.size();
  }
  // Events lost by slow clients (those still connected included).
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = dropped_;
    for (const auto& [key, s] : subscribers_) total += s->dropped();
    return total;
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<const void*, Handle> subscribers_;  // guarded by mutex_
  std::uint64_t dropped_ = 0;                  // guarded by mutex_: from clients gone
};

}  // namespace glassbox
