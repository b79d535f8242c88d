#include "api/security_log.h"

#include <iostream>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include "core/dates.h"
#include "core/text.h"

namespace glassbox {
namespace {

std::string format(const SecurityLog::Entry& e) {
  std::string out = e.client + " \"" + e.method + " " + sanitized_utf8(e.path.substr(0, 300)) + "\" " + std::to_string(e.status) + " " +
                    std::to_string(e.bytes) + " " + std::to_string(static_cast<int>(e.seconds * 1000)) + "ms";
  out += " user=" + (e.user.empty() ? std::string("-") : e.user);
  if (!e.credential.empty()) out += " credential=" + e.credential;
  if (!e.reason.empty()) out += " reason=" + e.reason;
  // Nothing a client sent may start a new line or hide in escapes.
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

}  // namespace

SecurityLog::SecurityLog() : window_(std::chrono::steady_clock::now()) {}
SecurityLog::~SecurityLog() {
  if (access_) access_->flush();
}

Status SecurityLog::open_access_log(const std::string& path) {
  try {
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path, 64u << 20, 4);
    access_ = std::make_shared<spdlog::logger>("access", sink);
    access_->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    access_->flush_on(spdlog::level::info);
  } catch (const std::exception& e) {
    return Error{path + ": cannot open the access log: " + e.what()};
  }
  return ok_status();
}

void SecurityLog::request(const Entry& e) {
  if (access_) access_->info(format(e));
}

void SecurityLog::denial(const Entry& e) {
  {
    std::lock_guard lock(mutex_);
    ++denials_[std::to_string(e.status)];
  }
  line("refused " + format(e));
}

std::uint64_t SecurityLog::internal_error(const std::string& what) {
  const std::uint64_t incident = ++incidents_;
  line("internal error #" + std::to_string(incident) + ": " + sanitized_utf8(what));
  return incident;
}

void SecurityLog::line(const std::string& text) {
  std::string summary;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - window_ >= std::chrono::seconds(1)) {
      if (suppressed_in_window_ > 0)
        summary = "glassbox serve: " + std::to_string(suppressed_in_window_) + " more lines like these were not written (at most " +
                  std::to_string(kLinesPerSecond) + " a second)";
      window_ = now;
      lines_in_window_ = 0;
      suppressed_in_window_ = 0;
    }
    if (lines_in_window_ >= kLinesPerSecond) {
      ++suppressed_in_window_;
      ++suppressed_total_;
      return;
    }
    ++lines_in_window_;
  }
  if (!summary.empty()) std::cerr << summary << "\n";
  std::cerr << "glassbox serve: " << text << "\n";
  if (access_) access_->warn(text);
}

std::map<std::string, std::uint64_t> SecurityLog::denials_by_status() const {
  std::lock_guard lock(mutex_);
  return denials_;
}

}  // namespace glassbox
