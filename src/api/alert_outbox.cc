#include "api/alert_outbox.h"

#include <algorithm>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "core/dates.h"
#include "core/json_text.h"

namespace glassbox {
namespace {

std::int64_t now_ms() { return now_utc_ms(); }

}  // namespace

AlertOutbox::AlertOutbox(std::unique_ptr<AlertStore> store, Settings settings, Render render)
    : store_(std::move(store)), settings_(std::move(settings)), render_(std::move(render)) {}

std::string AlertOutbox::endpoint_key(const std::string& kind, const std::string& identity) {
  return kind + ":" + audit::hex(merkle::sha256(identity)).substr(0, 16);
}

std::optional<AlertOutbox::Item> AlertOutbox::claim() {
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_count_) {
    next_count_ = now + std::chrono::seconds(2);
    if (auto pending = store_->pending_deliveries(settings_.endpoint)) pending_ = *pending;
  }
  if (deployment_.empty()) {
    auto deployment = store_->deployment();
    if (!deployment) {
      ++errors_;
      return std::nullopt;
    }
    deployment_ = *deployment;
  }
  auto claimed = store_->claim_delivery(settings_.endpoint, settings_.node, now_ms(), settings_.claim.count());
  if (!claimed) {
    ++errors_;
    return std::nullopt;
  }
  if (!claimed->has_value()) return std::nullopt;
  Item item{std::move(**claimed), "", ""};
  item.key = deployment_ + "-alert-" + std::to_string(item.delivery.alert.id);
  try {
    nlohmann::json event = render_(item.delivery.alert);
    event["idempotency_key"] = item.key;
    item.body = to_json_text(event);
  } catch (const std::exception& e) {
    failed(item, false, std::string("cannot render the event: ") + e.what());
    return std::nullopt;
  }
  return item;
}

void AlertOutbox::finish(const Item& item, bool delivered, std::optional<std::int64_t> retry_at_ms, const std::string& error) {
  auto finished = store_->finish_delivery(item.delivery, settings_.node, now_ms(), delivered, retry_at_ms, error);
  if (!finished) {
    ++errors_;  // the claim runs out and the delivery is tried again (by this node or another)
    return;
  }
  if (!*finished) ++claims_lost_;
}

void AlertOutbox::delivered(const Item& item) {
  ++delivered_;
  finish(item, true, std::nullopt, "");
}

void AlertOutbox::failed(const Item& item, bool retryable, const std::string& error) {
  ++failed_attempts_;
  const int attempts = item.delivery.attempts + 1;
  if (!retryable || (settings_.max_attempts > 0 && attempts >= settings_.max_attempts)) {
    ++given_up_;
    finish(item, false, std::nullopt, error);
    return;
  }
  ExponentialBackoff backoff(settings_.backoff);
  std::chrono::milliseconds wait{0};
  for (int i = 0; i < std::min(attempts, 60); ++i) wait = backoff.next();
  const auto due = std::chrono::steady_clock::now() + wait;
  if (!next_retry_ || due < *next_retry_) next_retry_ = due;
  finish(item, false, now_ms() + wait.count(), error);
}

void AlertOutbox::wait(std::chrono::milliseconds longest) {
  // Until a poke, or the earliest retry this node scheduled, at most `longest`.
  auto until = std::chrono::steady_clock::now() + longest;
  if (next_retry_) until = std::min(until, *next_retry_);
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, until, [&] { return poked_ || stopping_; });
  poked_ = false;
  if (next_retry_ && *next_retry_ <= std::chrono::steady_clock::now()) next_retry_.reset();
}

void AlertOutbox::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  wake_.notify_all();
}

void AlertOutbox::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

}  // namespace glassbox
