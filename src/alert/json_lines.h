// JSON-lines output of `glassbox watch` (format in docs/watch-output.md): one object per line,
// written whole under a lock so lines from concurrent sources never interleave, and flushed at
// once so a consumer sees each alert as it happens.
// Thread-safety: JsonLinesWriter and JsonLinesAlertSink are safe to call from any thread.
#pragma once

#include <mutex>
#include <ostream>

#include <nlohmann/json.hpp>

#include "alert/alert.h"

namespace glassbox {

nlohmann::json alert_to_json(const Alert& alert);

class JsonLinesWriter {
 public:
  explicit JsonLinesWriter(std::ostream& out) : out_(out) {}
  void write(const nlohmann::json& object);

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

class JsonLinesAlertSink final : public AlertSink {
 public:
  explicit JsonLinesAlertSink(JsonLinesWriter& writer) : writer_(writer) {}
  void publish(const Alert& alert) override { writer_.write(alert_to_json(alert)); }

 private:
  JsonLinesWriter& writer_;
};

}  // namespace glassbox
