// Bounded queues between a decoder and analysis.
// DropOldestQueue: for a live camera. push() never blocks: when the queue is full the oldest
// item is dropped and counted, so a camera that outruns the analysis keeps delivering its
// newest frames and never stalls its decoder.
// BlockingQueue: for a file, where every frame counts. push() waits for room, so a decoder
// running ahead holds at most `capacity` frames.
// Thread-safety: any number of producers and consumers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace glassbox {

template <typename T>
class DropOldestQueue {
 public:
  explicit DropOldestQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Adds an item; returns false when the queue is closed (the item is discarded, not counted).
  bool push(T item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      if (items_.size() >= capacity_) {
        items_.pop_front();
        ++dropped_;
      }
      items_.push_back(std::move(item));
      ++pushed_;
    }
    ready_.notify_one();
    return true;
  }

  // The oldest item, waiting up to `timeout`; nullopt on timeout, or when closed and empty.
  template <typename Rep, typename Period>
  std::optional<T> pop(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !items_.empty() || closed_; })) return std::nullopt;
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // Wakes every waiting consumer; later pushes are refused. Items already queued can still be popped.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }
  std::uint64_t pushed() const {
    std::lock_guard lock(mutex_);
    return pushed_;
  }
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<T> items_;       // guarded by mutex_
  std::uint64_t dropped_ = 0; // guarded by mutex_
  std::uint64_t pushed_ = 0;  // guarded by mutex_
  bool closed_ = false;       // guarded by mutex_
};

template <typename T>
class BlockingQueue {
 public:
  explicit BlockingQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Waits for room; false when the queue was closed (the item is discarded).
  bool push(T item) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    lock.unlock();
    ready_.notify_one();
    return true;
  }

  // The oldest item, waiting for one; nullopt once closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    room_.notify_one();
    return item;
  }

  // Wakes everyone waiting; later pushes are refused, queued items can still be popped.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
  }

 private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<T> items_;  // guarded by mutex_
  bool closed_ = false;  // guarded by mutex_
};

}  // namespace glassbox
