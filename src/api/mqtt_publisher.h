// MqttPublisher: alert events to an MQTT broker (for example Debian's mosquitto), for systems
// that integrate through MQTT. Each alert is published as its JSON event on
// TOPIC/CAMERA with the configured QoS (1 by default: the broker acknowledges it). Its own
// thread owns the libmosquitto client (the library's network calls are driven here, not by its
// own thread), reconnects with exponential backoff and jitter, and publishes from a bounded
// queue: a down or slow broker never blocks alert storage or any other sink, and what it drops
// is counted.
// Thread-safety: deliver() and the counters from any thread.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <utility>

#include "ingest/backoff.h"
#include "ingest/bounded_queue.h"

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
  explicit MqttPublisher(MqttConfig config,
                         BackoffPolicy backoff = {std::chrono::milliseconds(250), std::chrono::milliseconds(10000), 2.0});
  ~MqttPublisher();
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  void deliver(const std::string& camera, std::string json_event) { queue_.push({camera, std::move(json_event)}); }
  // Publishes what is queued if connected (up to about a second), then disconnects.
  void stop();

  const MqttConfig& config() const { return config_; }
  bool connected() const { return connected_; }
  std::uint64_t published() const { return published_; }        // handed to the broker
  std::uint64_t acknowledged() const { return acknowledged_; }  // confirmed by the broker (QoS 1 and 2)
  std::uint64_t failed_attempts() const { return failed_attempts_; }
  std::uint64_t connects() const { return connects_; }
  std::uint64_t dropped() const { return queue_.dropped(); }

 private:
  void run();

  MqttConfig config_;
  BackoffPolicy backoff_;
  DropOldestQueue<std::pair<std::string, std::string>> queue_{1000};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> published_{0}, acknowledged_{0}, failed_attempts_{0}, connects_{0};
  std::thread thread_;
};

}  // namespace glassbox
