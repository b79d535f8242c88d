// AlertBroadcaster: pushes each alert of the feed (store/alert_store.h: gap-free positions in
// commit order, every node's alerts) to every connected live client as a Server-Sent Event
// whose id is its feed position. It keeps the latest events, so a client that reconnects with
// `Last-Event-ID` gets what it missed from memory; what is older the caller reads from the
// database (subscribe() says from where). Each subscriber has its own bounded queue: a client
// too slow to keep up has its stream ended (counted), never an event silently dropped — it
// reconnects and resumes from its last id. A subscription belongs to one credential (a browser
// session or an API token) of one account and ends when that credential does (logout,
// revocation, a password change, the account disabled), at once, or when it expires: the HTTP
// server is woken to close the stream.
// Thread-safety: all members may be called from any thread; publish() from one thread at a time
// (the feed's), in position order.
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

// One SSE event: `id: POSITION`, `event: alert`, the JSON document as its data.
inline std::string sse_alert_event(std::int64_t position, const std::string& json) {
  return "id: " + std::to_string(position) + "\nevent: alert\ndata: " + json + "\n\n";
}

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
    // The next event (SSE text), "" when none is waiting, nullopt once the subscription has ended.
    std::optional<std::string> next(UnixSeconds now) {
      std::lock_guard lock(mutex_);
      if (now >= expires_at_) return std::nullopt;
      if (events_.empty()) return closed_ ? std::nullopt : std::optional<std::string>(std::string());
      std::string e = std::move(events_.front());
      events_.pop_front();
      return e;
    }
    // Events read from the database that come before everything queued (a resumed stream's
    // older part); called before the stream is handed to the server.
    void prepend(std::vector<std::string> older) {
      std::lock_guard lock(mutex_);
      capacity_ += older.size();  // room for them beside the live events
      events_.insert(events_.begin(), std::make_move_iterator(older.begin()), std::make_move_iterator(older.end()));
    }
    void set_waker(std::function<void()> wake) {
      std::lock_guard lock(mutex_);
      wake_ = std::move(wake);
    }
    bool overflowed() const {
      std::lock_guard lock(mutex_);
      return overflowed_;
    }

   private:
    friend class AlertBroadcaster;
    void push(std::int64_t position, const std::string& event) {
      std::function<void()> wake;
      {
        std::lock_guard lock(mutex_);
        if (closed_ || position <= last_position_) return;
        last_position_ = position;
        if (events_.size() >= capacity_) {
          // What is queued is still sent; then the stream ends, and the client resumes from the
          // last id it got.
          overflowed_ = true;
          closed_ = true;
        } else {
          events_.push_back(event);
        }
        wake = wake_;
      }
      if (wake) wake();
    }
    void end() {
      std::function<void()> wake;
      {
        std::lock_guard lock(mutex_);
        closed_ = true;
        events_.clear();
        wake = std::move(wake_);
      }
      if (wake) wake();
    }
    const std::string user_, credential_, credential_key_;
    const UnixSeconds expires_at_;
    mutable std::mutex mutex_;
    std::size_t capacity_;            // guarded by mutex_
    std::deque<std::string> events_;  // guarded by mutex_
    std::function<void()> wake_;      // guarded by mutex_
    bool closed_ = false;             // guarded by mutex_
    bool overflowed_ = false;         // guarded by mutex_
    std::int64_t last_position_ = 0;  // guarded by mutex_: the last position queued
  };
  using Handle = std::shared_ptr<Subscription>;

  struct Subscribed {
    Handle subscription;
    // A resumed stream that reaches back past what is kept in memory: the caller reads the feed
    // after the client's id and before this position from the database, and prepends it.
    std::optional<std::int64_t> read_before;
  };

  explicit AlertBroadcaster(std::size_t queue_per_client = 256, std::size_t kept = 1000) : capacity_(queue_per_client), kept_(kept) {}

  // nullopt when `max_total` streams are open, or `max_per_user` for this account. With
  // `after` (the client's Last-Event-ID), the events after it come first.
  std::optional<Subscribed> subscribe(const std::string& user, const std::string& credential, const std::string& credential_key,
                                      UnixSeconds expires_at, std::size_t max_total, std::size_t max_per_user,
                                      std::optional<std::int64_t> after = std::nullopt) {
    std::lock_guard lock(mutex_);
    std::size_t mine = 0;
    for (const auto& [key, s] : subscribers_) mine += s->user() == user ? 1 : 0;
    if (subscribers_.size() >= max_total || mine >= max_per_user) return std::nullopt;
    Subscribed out;
    // A resumed stream may be longer than a live queue: it holds what is kept, then live events.
    out.subscription = std::make_shared<Subscription>(user, credential, credential_key, expires_at, capacity_ + (after ? kept_ : 0));
    if (after) {
      const std::int64_t oldest_kept = recent_.empty() ? published_ + 1 : recent_.front().first;
      if (*after < oldest_kept - 1) out.read_before = oldest_kept;
      out.subscription->last_position_ = *after;
      for (const auto& [position, event] : recent_) out.subscription->push(position, event);
    } else {
      out.subscription->last_position_ = published_;
    }
    subscribers_[out.subscription.get()] = out.subscription;
    return out;
  }
  void unsubscribe(const Handle& s) {
    s->end();
    std::lock_guard lock(mutex_);
    if (subscribers_.erase(s.get()) > 0 && s->overflowed()) ++overflowed_;
  }
  // What the feed had published before this process listened (kept for resuming clients).
  void preload(std::int64_t position, const std::string& json) {
    std::lock_guard lock(mutex_);
    keep(position, json);
  }
  // The feed's next alert, in position order: `json` is one JSON document.
  void publish(std::int64_t position, const std::string& json) {
    std::lock_guard lock(mutex_);
    if (position <= published_) return;
    keep(position, json);
    for (auto& [key, s] : subscribers_) s->push(position, recent_.back().second);
  }
  std::int64_t published() const {
    std::lock_guard lock(mutex_);
    return published_;
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
  // Streams ended because their client fell behind (it resumes with Last-Event-ID), those still
  // open included.
  std::uint64_t overflowed() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = overflowed_;
    for (const auto& [key, s] : subscribers_) total += s->overflowed() ? 1 : 0;
    return total;
  }

 private:
  void keep(std::int64_t position, const std::string& json) {  // mutex_ held
    if (position <= published_) return;
    published_ = position;
    recent_.emplace_back(position, sse_alert_event(position, json));
    while (recent_.size() > kept_) recent_.pop_front();
  }

  const std::size_t capacity_;
  const std::size_t kept_;
  mutable std::mutex mutex_;
  std::map<const void*, Handle> subscribers_;                 // guarded by mutex_
  std::deque<std::pair<std::int64_t, std::string>> recent_;  // guarded by mutex_: the last kept_ events (SSE text)
  std::int64_t published_ = 0;                                // guarded by mutex_: the last position published
  std::uint64_t overflowed_ = 0;                              // guarded by mutex_: from clients gone
};

}  // namespace glassbox
