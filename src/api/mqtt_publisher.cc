#include "api/mqtt_publisher.h"

#include <mosquitto.h>

#include <mutex>
#include <optional>

namespace glassbox {
namespace {

// mosquitto_lib_init is not thread-safe and must run once per process.
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

MqttPublisher::MqttPublisher(MqttConfig config, std::unique_ptr<AlertOutbox> outbox, BackoffPolicy backoff)
    : config_(std::move(config)), outbox_(std::move(outbox)), backoff_(backoff) {
  init_library();
  thread_ = std::thread([this] { run(); });
}

MqttPublisher::~MqttPublisher() { stop(); }

void MqttPublisher::stop() {
  stopping_ = true;
  outbox_->stop();
  if (thread_.joinable()) thread_.join();
}

void MqttPublisher::on_published(int mid) {
  ++acknowledged_;
  auto it = in_flight_.find(mid);
  if (it == in_flight_.end()) return;
  outbox_->delivered(it->second);
  in_flight_.erase(it);
}

void MqttPublisher::run() {
  mosquitto* client = mosquitto_new(config_.client_id.c_str(), true, this);
  if (client == nullptr) return;
  if (config_.tls) {
    // The broker's certificate is verified (against ca_file, or the system's CAs), TLS 1.2 at least.
    const char* ca_file = config_.ca_file.empty() ? nullptr : config_.ca_file.c_str();
    const char* ca_path = config_.ca_file.empty() ? "/etc/ssl/certs" : nullptr;
    if (mosquitto_tls_set(client, ca_file, ca_path, nullptr, nullptr, nullptr) != MOSQ_ERR_SUCCESS ||
        mosquitto_tls_opts_set(client, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", nullptr) != MOSQ_ERR_SUCCESS) {
      ++failed_attempts_;
      mosquitto_destroy(client);
      return;
    }
  }
  if (!config_.username.empty())
    mosquitto_username_pw_set(client, config_.username.c_str(), config_.password.empty() ? nullptr : config_.password.c_str());
  mosquitto_connect_callback_set(client, [](mosquitto*, void* self, int rc) {
    auto* publisher = static_cast<MqttPublisher*>(self);
    if (rc == 0) {
      publisher->connected_ = true;
      ++publisher->connects_;
    } else {
      ++publisher->failed_attempts_;  // refused by the broker (credentials, client id)
    }
  });
  mosquitto_disconnect_callback_set(client, [](mosquitto*, void* self, int) { static_cast<MqttPublisher*>(self)->connected_ = false; });
  // Called from mosquitto_loop, on this thread: QoS 0 when sent, QoS 1 and 2 when acknowledged.
  mosquitto_publish_callback_set(client, [](mosquitto*, void* self, int mid) { static_cast<MqttPublisher*>(self)->on_published(mid); });

  ExponentialBackoff backoff(backoff_);
  auto next_connect = std::chrono::steady_clock::now();
  bool socket_open = false;  // a connection exists or is being made
  std::chrono::steady_clock::time_point connect_started;
  std::optional<std::chrono::steady_clock::time_point> stop_deadline;
  // Published but unacknowledged when the connection went: tried again (an attempt counted).
  auto release_in_flight = [&](const std::string& why) {
    for (auto& [mid, item] : in_flight_) outbox_->failed(item, true, why);
    in_flight_.clear();
  };

  while (true) {
    if (stopping_ && !stop_deadline) stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    if (stop_deadline && (in_flight_.empty() || !connected_ || std::chrono::steady_clock::now() >= *stop_deadline)) break;
    const auto now = std::chrono::steady_clock::now();
    if (!socket_open && now >= next_connect) {
      // Non-blocking: the connection completes in mosquitto_loop below.
      if (mosquitto_connect_async(client, config_.host.c_str(), config_.port, config_.keepalive_s) == MOSQ_ERR_SUCCESS) {
        socket_open = true;
        connect_started = now;
      } else {
        ++failed_attempts_;
        next_connect = now + backoff.next();
      }
    }
    if (!socket_open) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    bool idle = true;
    if (connected_ && !stop_deadline) {
      backoff.reset();
      // A bounded window of unacknowledged messages: the outbox keeps the rest.
      while (in_flight_.size() < 64) {
        auto item = outbox_->claim();
        if (!item) break;
        idle = false;
        const std::string topic = config_.topic + "/" + item->delivery.alert.camera;
        int mid = 0;
        const int rc = mosquitto_publish(client, &mid, topic.c_str(), static_cast<int>(item->body.size()), item->body.data(), config_.qos, false);
        if (rc != MOSQ_ERR_SUCCESS) {
          ++failed_attempts_;
          outbox_->failed(*item, true, std::string("cannot publish: ") + mosquitto_strerror(rc));
          break;
        }
        ++published_;
        in_flight_.emplace(mid, std::move(*item));
      }
    }
    int rc = mosquitto_loop(client, connected_ && idle && in_flight_.empty() ? 200 : 50, 1);
    // A broker that takes the connection but never answers it counts as a failure.
    if (rc == MOSQ_ERR_SUCCESS && !connected_ && std::chrono::steady_clock::now() - connect_started > std::chrono::seconds(10))
      rc = MOSQ_ERR_CONN_LOST;
    if (rc != MOSQ_ERR_SUCCESS) {
      // Refused, lost or never established: close and try again after the backoff.
      if (connected_ || rc != MOSQ_ERR_NO_CONN) ++failed_attempts_;
      connected_ = false;
      mosquitto_disconnect(client);
      socket_open = false;
      release_in_flight(std::string("connection lost: ") + mosquitto_strerror(rc));
      next_connect = std::chrono::steady_clock::now() + backoff.next();
    }
  }
  if (connected_) {
    mosquitto_disconnect(client);
    mosquitto_loop(client, 100, 1);
  }
  connected_ = false;
  mosquitto_destroy(client);
}

}  // namespace glassbox
