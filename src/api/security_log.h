// SecurityLog: what `serve` tells its operators about requests. Denials (401, 403, 429) and the
// HTTP layer's refusals (oversized, timed out, busy...) go to standard error, at most
// `kLinesPerSecond` lines a second with the rest counted and summarised, so a flood cannot
// flood the log; each is counted for /metrics. With `access_log` set, every request is also
// written to that file, one line each, rotated by size (spdlog), so a file never grows without
// bound. Lines name the client address, method, path, status, account and credential id —
// never a token, cookie, password or body.
// Thread-safety: all members may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"

namespace spdlog {
class logger;
}

namespace glassbox {

class SecurityLog {
 public:
  static constexpr int kLinesPerSecond = 20;

  SecurityLog();
  ~SecurityLog();
  Status open_access_log(const std::string& path);

  struct Entry {
    std::string client, method, path, user, credential, reason;
    int status = 0;
    std::uint64_t bytes = 0;
    double seconds = 0.0;
  };
  // Every answered request (access log only).
  void request(const Entry& e);
  // A refusal: to standard error (rate-limited) and counted under its status and reason.
  void denial(const Entry& e);
  // A failure inside the service, with its incident number (the client gets only the number).
  std::uint64_t internal_error(const std::string& what);

  std::map<std::string, std::uint64_t> denials_by_status() const;
  std::uint64_t lines_suppressed() const { return suppressed_total_; }
  std::uint64_t internal_errors() const { return incidents_; }

 private:
  void line(const std::string& text);

  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> denials_;  // guarded by mutex_: by status
  std::chrono::steady_clock::time_point window_;  // guarded by mutex_
  int lines_in_window_ = 0;                       // guarded by mutex_
  std::uint64_t suppressed_in_window_ = 0;        // guarded by mutex_
  std::atomic<std::uint64_t> suppressed_total_{0};
  std::atomic<std::uint64_t> incidents_{0};
  std::shared_ptr<spdlog::logger> access_;
};

}  // namespace glassbox
