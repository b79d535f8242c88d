// LiveService: `glassbox serve` — cameras from the configuration file and from the API (kept in
// the database), each with its own ingest thread and bounded queue; shared inference workers;
// alerts stored with evidence for review; watchlist entries enrolled, approved and revoked
// through the API; the watchlist reloaded on a timer (and at once after an approval or
// revocation) so changes and expiry take effect without a restart; evidence purged after its
// retention; and the HTTP API (docs/openapi.json) on one address.
// Thread-safety: start() and stop() from the controlling thread; HTTP handlers run on the
// server's pool and reach shared state only through the locked members below.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alert/storing_alert_sink.h"
#include "api/alert_broadcaster.h"
#include "api/service_config.h"
#include "auth/user_store.h"
#include "embed/model_profile.h"
#include "ingest/camera_ingest.h"
#include "ingest/segment_recorder.h"
#include "pipeline/live_analyzer.h"
#include "search/search_runner.h"
#include "store/alert_store.h"
#include "store/camera_store.h"
#include "store/sqlite_store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
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
  struct Camera;
  using GuardedHandler = std::function<void(const httplib::Request&, httplib::Response&, const Principal&)>;
  // Authenticates the request (API token or session cookie), checks the role and, for a browser
  // session changing something, the CSRF token; 401 / 403 otherwise.
  std::function<void(const httplib::Request&, httplib::Response&)> guard(std::set<Role> allowed, GuardedHandler handler);
  std::optional<Principal> authenticate(const httplib::Request& req);
  void register_account_routes();
  void register_routes();
  void register_camera_routes();
  void register_entry_routes();
  void register_search_routes();  // api/search_routes.cc
  void register_upload_routes();  // api/search_routes.cc: recordings uploaded for searches
  // Runs approved searches one at a time, on its own connection, until the service stops.
  void search_loop();
  // Deletes recorded segments past their camera's retention (audited), files and rows.
  void purge_recordings();
  // Completes the index rows of segments a crash left open (or drops them with their file).
  Status recover_segments();
  void maintenance_loop();
  Status reload_watchlist();

  // A camera's queue, ingest and place in the analyzer; started when the service runs.
  std::shared_ptr<Camera> make_camera(const CameraConfig& config, bool from_config_file);
  // Loads, on first use, the detector and recognizer that turn uploaded photos (entries, search
  // probes) into templates. The caller holds entries_mutex_.
  Status load_photo_models();
  // Starts its ingest, and its recorder when it is recorded and enabled.
  void start_camera(Camera& camera);
  // Stops its ingest (waiting for a read in progress) and takes it out of the analysis.
  void retire_camera(Camera& camera);
  std::vector<std::shared_ptr<Camera>> camera_snapshot() const;
  // Adds what was analysed since the last call to the per-day counts (transparency statistics).
  void flush_analysis_counts();
  std::shared_ptr<Camera> find_camera(const std::string& name) const;

  std::string data_dir_;
  std::string db_path_;
  ServiceConfig config_;
  ModelProfile profile_;

  mutable std::mutex store_mutex_;  // guards alert_store_ for the sink and the HTTP handlers
  std::unique_ptr<SqliteAlertStore> alert_store_;
  std::unique_ptr<StoringAlertSink> sink_;
  AlertBroadcaster broadcaster_;
  std::vector<std::unique_ptr<WebhookSender>> webhooks_;
  std::unique_ptr<MqttPublisher> mqtt_;

  struct Camera {
    CameraConfig config;
    bool from_config_file = false;  // managed by the file: the API may read it but not change it
    std::unique_ptr<DropOldestQueue<CapturedFrame>> queue;
    std::unique_ptr<CameraIngest> ingest;
    LiveAnalyzer::CameraHandle analysis = 0;
    std::unique_ptr<SegmentRecorder> recorder;  // when the camera is recorded
  };
  std::unique_ptr<LiveAnalyzer> analyzer_;
  mutable std::mutex cameras_mutex_;  // guards cameras_ and cameras_started_
  std::map<std::string, std::shared_ptr<Camera>> cameras_;
  bool cameras_started_ = false;
  // Serialises camera changes through the API, so the table and the running cameras agree.
  // Taken before cameras_mutex_, never after it.
  std::mutex camera_changes_mutex_;
  std::unique_ptr<SqliteCameraStore> camera_store_;  // guarded by camera_changes_mutex_

  // Watchlist management through the API: one connection, and the detector and recognizer that
  // turn uploaded photos into templates (loaded on first use).
  std::mutex entries_mutex_;
  std::unique_ptr<SqliteWatchlistStore> entry_store_;  // guarded by entries_mutex_
  std::unique_ptr<FaceDetector> enrol_detector_;       // guarded by entries_mutex_
  std::unique_ptr<Embedder> enrol_embedder_;           // guarded by entries_mutex_
  std::mutex users_mutex_;
  std::unique_ptr<SqliteUserStore> users_;  // guarded by users_mutex_
  std::mutex reload_mutex_;                             // one reload at a time
  std::unique_ptr<SqliteWatchlistStore> reload_store_;  // guarded by reload_mutex_
  // The service's own connection for its bookkeeping (analysis counts, checkpoints, audit
  // exports), opened once: each open would run the schema check in a write transaction.
  // Taken after camera_changes_mutex_ and before cameras_mutex_.
  std::mutex service_db_mutex_;
  std::unique_ptr<SqliteDatabase> service_db_;  // guarded by service_db_mutex_
  std::map<LiveAnalyzer::CameraHandle, LiveCameraStats> flushed_;  // guarded by service_db_mutex_: counts written, per camera  // one reload at a time, so an older list never replaces a newer one
  std::atomic<std::size_t> watchlist_entries_{0};
  std::atomic<std::uint64_t> watchlist_reloads_{0};
  std::atomic<std::uint64_t> evidence_purged_{0};
  std::atomic<std::uint64_t> alerts_purged_{0};
  std::atomic<std::uint64_t> audit_checkpoints_{0};

  std::filesystem::path recordings_dir_;
  // Recorded segments of cameras no longer configured keep this retention.
  static constexpr double kDefaultRecordRetentionDays = 7.0;
  std::atomic<std::uint64_t> segments_purged_{0};
  std::atomic<std::uint64_t> segment_index_errors_{0};
  // Searches of recordings: approved ones run one at a time on search_thread_.
  std::thread search_thread_;
  std::mutex searches_mutex_;  // taken before service_db_mutex_ (cancelling a running search), never after
  std::condition_variable searches_wake_;
  std::optional<std::int64_t> running_search_;             // guarded by searches_mutex_
  std::optional<SearchProgress> running_progress_;         // guarded by searches_mutex_
  std::atomic<bool> cancel_running_search_{false};
  std::atomic<std::uint64_t> searches_finished_{0};
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
