// LiveService: `glassbox serve` — cameras from the configuration, each with its own ingest
// thread and bounded queue; shared inference workers; alerts stored with evidence for review;
// the watchlist reloaded on a timer so approvals and expiry take effect without a restart;
// evidence purged after its retention; and the HTTP API (docs/openapi.json) on one address.
// Thread-safety: start() and stop() from the controlling thread; HTTP handlers run on the
// server's pool and reach shared state only through the locked members below.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alert/storing_alert_sink.h"
#include "api/alert_broadcaster.h"
#include "api/service_config.h"
#include "embed/model_profile.h"
#include "ingest/camera_ingest.h"
#include "pipeline/live_analyzer.h"
#include "store/alert_store.h"
#include "store/sqlite_store.h"

namespace httplib {
class Server;
}

namespace glassbox {

class LiveService {
 public:
  // Opens (or creates) DATA_DIR/glassbox.db, loads the models for `config.profile`.
  static Result<std::unique_ptr<LiveService>> create(const std::string& data_dir, ServiceConfig config);
  ~LiveService();

  // Starts cameras, workers and the HTTP server on host:port (port 0 picks one; see port()).
  Status start(const std::string& host, int port);
  // Stops taking frames, finishes the frames in analysis, stores their alerts, stops HTTP.
  void stop();
  int port() const { return port_; }

  std::string metrics_text() const;

 private:
  LiveService() = default;
  void register_routes();
  void maintenance_loop();
  Status reload_watchlist();

  std::string data_dir_;
  std::string db_path_;
  ServiceConfig config_;
  ModelProfile profile_;

  mutable std::mutex store_mutex_;  // guards alert_store_ for the sink and the HTTP handlers
  std::unique_ptr<SqliteAlertStore> alert_store_;
  std::unique_ptr<StoringAlertSink> sink_;
  AlertBroadcaster broadcaster_;
  std::vector<std::unique_ptr<WebhookSender>> webhooks_;

  struct Camera {
    CameraConfig config;
    std::unique_ptr<DropOldestQueue<CapturedFrame>> queue;
    std::unique_ptr<CameraIngest> ingest;
  };
  std::vector<Camera> cameras_;
  std::unique_ptr<LiveAnalyzer> analyzer_;
  std::atomic<std::size_t> watchlist_entries_{0};
  std::atomic<std::uint64_t> watchlist_reloads_{0};
  std::atomic<std::uint64_t> evidence_purged_{0};

  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  std::thread maintenance_thread_;
  std::mutex maintenance_mutex_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;  // guarded by maintenance_mutex_
  int port_ = 0;
  std::atomic<bool> ready_{false};
};

}  // namespace glassbox
