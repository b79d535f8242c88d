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

MqttPublisher::MqttPublisher(MqttConfig config, BackoffPolicy backoff) : config_(std::move(config)), backoff_(backoff) {
  init_library();
  thread_ = std::thread([this] { run(); });
}

MqttPublisher::~MqttPublisher() { stop(); }

void MqttPublisher::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
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
  mosquitto_publish_callback_set(client, [](mosquitto*, void* self, int) { ++static_cast<MqttPublisher*>(self)->acknowledged_; });

  ExponentialBackoff backoff(backoff_);
  auto next_connect = std::chrono::steady_clock::now();
  bool socket_open = false;  // a connection exists or is being made
  std::chrono::steady_clock::time_point connect_started;
  std::optional<std::pair<std::string, std::string>> pending;  // taken from the queue, not yet published
  auto drained = [&] { return !pending && queue_.size() == 0; };
  std::optional<std::chrono::steady_clock::time_point> stop_deadline;

  while (true) {
    if (stopping_ && !stop_deadline) stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    if (stop_deadline && (drained() || !connected_ || std::chrono::steady_clock::now() >= *stop_deadline)) break;
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
      if (!pending) pending = queue_.pop(std::chrono::milliseconds(50));  // keep the queue moving (it drops the oldest)
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (connected_) {
      backoff.reset();
      for (int i = 0; i < 64; ++i) {
        if (!pending) pending = queue_.pop(std::chrono::milliseconds(0));
        if (!pending) break;
        const std::string topic = config_.topic + "/" + pending->first;
        const int rc = mosquitto_publish(client, nullptr, topic.c_str(), static_cast<int>(pending->second.size()),
                                         pending->second.data(), config_.qos, false);
        if (rc != MOSQ_ERR_SUCCESS) {
          ++failed_attempts_;
          break;  // kept in `pending`; tried again after the loop below
        }
        ++published_;
        pending.reset();
      }
    }
    int rc = mosquitto_loop(client, connected_ ? 50 : 100, 1);
    // A broker that takes the connection but never answers it counts as a failure.
    if (rc == MOSQ_ERR_SUCCESS && !connected_ && std::chrono::steady_clock::now() - connect_started > std::chrono::seconds(10))
      rc = MOSQ_ERR_CONN_LOST;
    if (rc != MOSQ_ERR_SUCCESS) {
      // Refused, lost or never established: close and try again after the backoff.
      if (connected_ || rc != MOSQ_ERR_NO_CONN) ++failed_attempts_;
      connected_ = false;
      mosquitto_disconnect(client);
      socket_open = false;
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
