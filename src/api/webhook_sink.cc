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

WebhookSender::WebhookSender(WebhookConfig config, std::unique_ptr<AlertOutbox> outbox)
    : config_(std::move(config)), outbox_(std::move(outbox)) {
  thread_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::stop() {
  stopping_ = true;
  outbox_->stop();
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
    auto item = outbox_->claim();
    if (!item) {
      outbox_->wait(std::chrono::milliseconds(1000));
      continue;
    }
    auto response = client.Post(target->path.c_str(), {{"Idempotency-Key", item->key}}, item->body, "application/json");
    if (response && response->status < 300) {
      outbox_->delivered(*item);
      continue;
    }
    // A 4xx other than 429 will not get better by trying again.
    const bool retryable = !response || response->status >= 500 || response->status == 429 || response->status < 400;
    outbox_->failed(*item, retryable,
                    response ? "HTTP " + std::to_string(response->status) : std::string("no answer: ") + httplib::to_string(response.error()));
  }
}

}  // namespace glassbox
