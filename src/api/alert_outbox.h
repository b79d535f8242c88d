// AlertOutbox: one endpoint's side of the delivery outbox (store/alert_store.h; docs/cluster.md,
// "Webhooks and MQTT"), for the thread that delivers to it — a webhook or an MQTT broker. Each
// alert's deliveries are written in the alert's own transaction; any node whose configuration
// names the same endpoint claims the due ones (one node at a time), delivers, and records the
// outcome, so a delivery survives the death of the node that raised the alert or claimed it (its
// claim expires and another node takes it). Failures are tried again after an exponential
// backoff kept in the database, up to max_attempts. "Once" is at-least-once plus a key: each
// delivery carries `<deployment>-alert-<id>` (HTTP's Idempotency-Key header; in MQTT's payload
// as `idempotency_key`) by which receivers drop repeats.
// Thread-safety: poke() and the counters from any thread; the rest from the delivering thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/backoff.h"
#include "store/alert_store.h"

namespace glassbox {

class AlertOutbox {
 public:
  struct Settings {
    std::string endpoint;  // the outbox's key for it (endpoint_key)
    std::string node;      // who claims
    int max_attempts = 6;  // 0: no limit (a broker that comes back gets everything)
    BackoffPolicy backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(10000), 2.0};
    std::chrono::milliseconds claim{30000};  // longer than one attempt can take
  };
  // The event an endpoint is sent (the live stream's JSON for the alert).
  using Render = std::function<nlohmann::json(const AlertRecord&)>;
  struct Item {
    AlertDelivery delivery;
    std::string key;   // the idempotency key
    std::string body;  // the JSON event, with the key in it
  };

  // `store` is this outbox's own connection.
  AlertOutbox(std::unique_ptr<AlertStore> store, Settings settings, Render render);

  // A configured endpoint's key in the outbox: `kind` and a hash of what identifies it (a URL
  // may hold a secret; the database keeps only its hash).
  static std::string endpoint_key(const std::string& kind, const std::string& identity);

  // The next due delivery, claimed; nullopt when none is due (or the database failed: counted).
  std::optional<Item> claim();
  void delivered(const Item& item);
  // A failed attempt: tried again after the backoff when `retryable` and attempts are left,
  // otherwise given up.
  void failed(const Item& item, bool retryable, const std::string& error);
  // Waits until an alert is stored (poke()), a scheduled retry falls due, or at most `longest`.
  void wait(std::chrono::milliseconds longest);
  void poke();
  void stop();

  const std::string& endpoint() const { return settings_.endpoint; }
  std::uint64_t delivered_count() const { return delivered_; }
  std::uint64_t failed_attempts() const { return failed_attempts_; }
  std::uint64_t given_up() const { return given_up_; }
  std::uint64_t claims_lost() const { return claims_lost_; }  // finished by another node after this one's claim expired
  std::uint64_t errors() const { return errors_; }            // the outbox could not be read or written
  std::int64_t pending() const { return pending_; }            // deliveries not yet done, as of the last look

 private:
  void finish(const Item& item, bool delivered, std::optional<std::int64_t> retry_at_ms, const std::string& error);

  std::unique_ptr<AlertStore> store_;
  const Settings settings_;
  const Render render_;
  std::string deployment_;  // read at the first claim
  std::chrono::steady_clock::time_point next_count_{};
  std::optional<std::chrono::steady_clock::time_point> next_retry_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool poked_ = false;    // guarded by mutex_
  bool stopping_ = false; // guarded by mutex_
  std::atomic<std::uint64_t> delivered_{0}, failed_attempts_{0}, given_up_{0}, claims_lost_{0}, errors_{0};
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace glassbox
