// MqttPublisher: alert events to an MQTT broker (for example Debian's mosquitto), for systems
// that integrate through MQTT. Each alert is published as its JSON event on TOPIC/CAMERA with the
// configured QoS (1 by default: the broker acknowledges it), taken from the delivery outbox
// (api/alert_outbox.h): a delivery is done when the broker acknowledged it (QoS 1 and 2) or it
// was sent (QoS 0); what a down broker could not take waits in the outbox — on this node or any
// other — and its payload carries `idempotency_key` for receivers to drop repeats. Its own
// thread owns the libmosquitto client (the library's network calls are driven here, not by its
// own thread) and reconnects with exponential backoff and jitter: a down or slow broker never
// blocks alert storage or any other sink.
// Thread-safety: poke(), stop() and the counters from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "api/alert_outbox.h"
#include "ingest/backoff.h"

namespace glassbox {

struct MqttConfig {
  std::string host;                     // the broker; required when the section is present
  int port = 1883;                      // 1..65535
  std::string topic = "glassbox/alerts";// events go to TOPIC/CAMERA
  int qos = 1;                          // 0, 1 or 2
  std::string client_id = "glassbox";
  std::string username;                 // optional, with password
  std::string password;
  int keepalive_s = 30;                 // 5..3600
  bool tls = false;                     // TLS 1.2+ to the broker, its certificate verified
  std::string ca_file;                  // with tls: the CA of the broker's certificate (default: the system's)
  bool insecure = false;                // allow a username and password without TLS
};

class MqttPublisher {
 public:
  MqttPublisher(MqttConfig config, std::unique_ptr<AlertOutbox> outbox,
                BackoffPolicy backoff = {std::chrono::milliseconds(250), std::chrono::milliseconds(10000), 2.0});
  ~MqttPublisher();
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  // An alert was stored: look in the outbox now.
  void poke() { outbox_->poke(); }
  // Waits up to about a second for the broker's acknowledgements of what was published, then
  // disconnects; deliveries still unacknowledged are tried again when their claim runs out.
  void stop();

  const MqttConfig& config() const { return config_; }
  const AlertOutbox& outbox() const { return *outbox_; }
  bool connected() const { return connected_; }
  std::uint64_t published() const { return published_; }        // handed to the broker
  std::uint64_t acknowledged() const { return acknowledged_; }  // confirmed by the broker (QoS 1 and 2)
  std::uint64_t failed_attempts() const { return failed_attempts_; }
  std::uint64_t connects() const { return connects_; }

 private:
  void run();
  void on_published(int mid);

  MqttConfig config_;
  std::unique_ptr<AlertOutbox> outbox_;
  BackoffPolicy backoff_;
  std::map<int, AlertOutbox::Item> in_flight_;  // by message id; the publisher's thread only
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> published_{0}, acknowledged_{0}, failed_attempts_{0}, connects_{0};
  std::thread thread_;
};

}  // namespace glassbox
