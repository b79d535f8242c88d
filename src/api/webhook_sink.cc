#include "api/webhook_sink.h"

#include <httplib.h>

namespace glassbox {

Result<HttpTarget> parse_http_url(const std::string& url) {
  HttpTarget t;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    t.tls = true;
    t.port = 443;
  } else {
    return Error{"'" + url + "': a webhook is an http:// or https:// URL"};
  }
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  t.host = authority.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      t.port = std::stoi(authority.substr(colon + 1));
    } catch (const std::exception&) {
      t.port = -1;
    }
  }
  if (t.host.empty() || t.port <= 0 || t.port > 65535) return Error{"'" + url + "': expected http(s)://host[:port]/path"};
  return t;
}

WebhookSender::WebhookSender(WebhookConfig config, BackoffPolicy backoff) : config_(std::move(config)), backoff_(backoff) {
  thread_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::stop() {
  stopping_ = true;
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void WebhookSender::run() {
  const auto target = parse_http_url(config_.url);
  if (!target) return;  // validated with the configuration; nothing to do
  httplib::Client client(target->origin());
  if (target->tls) {
    client.enable_server_certificate_verification(true);
    if (!config_.ca_file.empty()) client.set_ca_cert_path(config_.ca_file);
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int>(config_.timeout_s * 1000));
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  while (!stopping_) {
    auto event = queue_.pop(std::chrono::milliseconds(500));
    if (!event) continue;
    ExponentialBackoff backoff(backoff_);
    bool sent = false;
    for (int attempt = 1; attempt <= config_.max_attempts && !stopping_; ++attempt) {
      auto response = client.Post(target->path.c_str(), *event, "application/json");
      if (response && response->status < 300) {
        sent = true;
        break;
      }
      ++failed_attempts_;
      // A 4xx other than 429 will not get better by trying again.
      if (response && response->status >= 400 && response->status < 500 && response->status != 429) break;
      if (attempt < config_.max_attempts) {
        const auto wait = backoff.next();
        const auto until = std::chrono::steady_clock::now() + wait;
        while (!stopping_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (sent) {
      ++delivered_;
    } else {
      ++given_up_;
    }
  }
}

}  // namespace glassbox
