// WebhookSender: delivers alert events to one HTTP or HTTPS endpoint by POST (JSON), from its own thread
// and bounded queue, retrying failures (connection errors, 5xx, 429) with exponential backoff
// and jitter up to a number of attempts. A slow or dead endpoint never blocks alert storage or
// any other endpoint; everything it loses or gives up on is counted.
// Thread-safety: deliver() and counters from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "core/result.h"
#include "ingest/backoff.h"
#include "ingest/bounded_queue.h"

namespace glassbox {

struct WebhookConfig {
  std::string url;            // http(s)://host[:port]/path
  int max_attempts = 6;       // 1..100
  double timeout_s = 5.0;     // per attempt
  std::string ca_file;        // https: PEM file of the CA that signed the endpoint's certificate
                              // (default: the system's CA store); the certificate is always verified
  bool insecure = false;      // allow plain http:// (alerts in clear): refused unless set
};

class WebhookSender {
 public:
  explicit WebhookSender(WebhookConfig config, BackoffPolicy backoff = {std::chrono::milliseconds(200), std::chrono::milliseconds(10000), 2.0});
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void deliver(std::string json_event) { queue_.push(std::move(json_event)); }
  void stop();

  const std::string& url() const { return config_.url; }
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t failed_attempts() const { return failed_attempts_; }
  std::uint64_t given_up() const { return given_up_; }
  std::uint64_t dropped() const { return queue_.dropped(); }

 private:
  void run();

  WebhookConfig config_;
  BackoffPolicy backoff_;
  DropOldestQueue<std::string> queue_{1000};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> delivered_{0}, failed_attempts_{0}, given_up_{0};
  std::thread thread_;
};

// Splits http(s)://host[:port]/path; an error for anything else.
struct HttpTarget {
  bool tls = false;
  std::string host;
  int port = 80;  // 443 for https
  std::string path = "/";
  std::string origin() const { return (tls ? "https://" : "http://") + host + ":" + std::to_string(port); }
};
Result<HttpTarget> parse_http_url(const std::string& url);

}  // namespace glassbox
