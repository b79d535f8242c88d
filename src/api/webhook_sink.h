// WebhookSender: delivers alert events to one HTTP or HTTPS endpoint by POST (JSON), from its own
// thread, taking them from the delivery outbox (api/alert_outbox.h): each alert once per endpoint
// across a cluster, with an `Idempotency-Key` header, retried after failures (connection errors,
// 5xx, 429) with exponential backoff and jitter up to a number of attempts — by any node, after
// this one dies. A slow or dead endpoint never blocks alert storage or any other endpoint;
// everything it gives up on is counted.
// Thread-safety: poke(), stop() and the counters from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "core/result.h"
#include "api/alert_outbox.h"

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
  // `outbox` is the endpoint's side of the outbox (its max_attempts and backoff from `config`).
  WebhookSender(WebhookConfig config, std::unique_ptr<AlertOutbox> outbox);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // An alert was stored: look in the outbox now.
  void poke() { outbox_->poke(); }
  void stop();

  const std::string& url() const { return config_.url; }
  const AlertOutbox& outbox() const { return *outbox_; }

 private:
  void run();

  WebhookConfig config_;
  std::unique_ptr<AlertOutbox> outbox_;
  std::atomic<bool> stopping_{false};
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
