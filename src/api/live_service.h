// LiveService: `glassbox serve` — cameras from the configuration file and from the API (kept in
// the database), each with its own ingest thread and bounded queue; shared inference workers;
// alerts stored with evidence for review; watchlist entries enrolled, approved and revoked
// through the API; the watchlist reloaded on a timer (and at once after an approval or
// revocation) so changes and expiry take effect without a restart; evidence purged after its
// retention; and the HTTP API (docs/openapi.json) on one address, bounded and guarded as
// docs/security.md says (src/http for the server; api/access_control.cc for who may do what).
// Thread-safety: start() and stop() from the controlling thread; HTTP handlers run on the
// server's worker threads and reach shared state only through the locked members below.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alert/storing_alert_sink.h"
#include "api/alert_broadcaster.h"
#include "api/console_assets.h"
#include "api/security_log.h"
#include "api/service_config.h"
#include "auth/login_throttle.h"
#include "auth/user_store.h"
#include "cluster/camera_leases.h"
#include "embed/model_profile.h"
#include "enroll/enrollment.h"
#include "http/server.h"
#include "ingest/camera_ingest.h"
#include "ingest/segment_recorder.h"
#include "pipeline/live_analyzer.h"
#include "search/search_runner.h"
#include "store/alert_store.h"
#include "store/camera_store.h"
#include "store/database_location.h"
#include "store/sql_watchlist_store.h"

namespace glassbox {

class LiveService {
 public:
  // Opens (or creates, owner-only) DATA_DIR/glassbox.db — or, with `config.database`, connects to
  // the PostgreSQL database a cluster shares (its keys in DATA_DIR) — and loads the models for
  // `config.profile`.
  static Result<std::unique_ptr<LiveService>> create(const std::string& data_dir, ServiceConfig config);
  ~LiveService();

  // Starts cameras, workers and the HTTP server on host:port (port 0 picks one; see port()).
  // Refuses a non-loopback address in plain HTTP unless behind_tls_proxy is set.
  Status start(const std::string& host, int port);
  // Stops taking frames, finishes the frames in analysis, stores their alerts, stops HTTP.
  void stop();
  int port() const { return port_; }
  bool tls() const;

  std::string metrics_text() const;

 private:
  LiveService() = default;
  struct Camera;
  using GuardedHandler = std::function<void(const http::Request&, http::Response&, const Principal&)>;
  // How much body a route takes, and of which kind (docs/security.md has the table).
  struct BodyLimit {
    http::BodyKind kind = http::BodyKind::kNone;
    std::size_t max_bytes = 0;
  };
  // A route for the server: its admission check authenticates the request (API token or
  // session cookie), checks the role and, for a browser session changing something, the CSRF
  // token — all before the body is read — and logs and counts every 401 and 403.
  // `pool`: "" for the HTTP workers, or one of kPasswordPool, kPhotoPool, kFilePool for work that
  // must not take the workers' time (at most as many at once as that pool has threads).
  void guarded(const char* method, const char* pattern, BodyLimit body, std::set<Role> allowed, GuardedHandler handler, const char* pool = "");
  void open_route(const char* method, const char* pattern, BodyLimit body, std::function<void(http::Request&, http::Response&)> handler,
                  bool on_io_thread = false, const char* pool = "");
  // Pools of their own for expensive work: Argon2id (64 MiB each: two at a time), photos (a
  // decoded image and the models), upload writes and hashes and audit exports.
  static constexpr const char* kPasswordPool = "passwords";
  static constexpr const char* kPhotoPool = "photos";
  static constexpr const char* kFilePool = "files";
  std::optional<Principal> authenticate(const http::Request& req);
  // TLS here or at a trusted proxy: cookies are Secure (and __Host-), HSTS is sent.
  bool secure_transport() const;
  std::string session_cookie() const;
  // Headers on every response: no caching, no sniffing, no framing, CSP, HSTS under TLS.
  void decorate(const http::Request& req, http::Response& res) const;
  // A 500 whose detail goes to the log (with an incident number), not to the client; a 507 when
  // the storage failed (store/database.h, is_storage_fault), counted.
  void reply_internal(http::Response& res, const std::string& what, const Error& error);
  // A refused change: 507 (reply_internal) when the storage failed, else refusal_status's code
  // with the store's message.
  void reply_refusal(http::Response& res, const Error& error);
  // Writes `action` on `object` by `who` to the audit log (reads of biometric data); false, and
  // the response filled with a refusal, when the record cannot be written.
  bool audit_read(const Principal& who, const std::string& action, const std::string& object, const nlohmann::json& details,
                  http::Response& res);
  void register_account_routes();  // api/account_routes.cc
  // Exports the audit log (recorded as audit.export by `actor`) to a file in the data folder that
  // the caller reads and removes; the caller holds an export slot.
  Result<std::filesystem::path> export_audit_log(const std::string& actor);
  void register_routes();
  void register_camera_routes();
  void register_entry_routes();
  void register_search_routes();  // api/search_routes.cc
  void register_upload_routes();  // api/search_routes.cc: recordings uploaded for searches
  // Ends the live event streams of a credential (or of every credential of `user`, or of every
  // one but `credential` when `all_but`).
  void end_streams(const std::string& user, const std::string& credential, bool all_but = false);
  // A camera URL from the API: its scheme allowed, its host outside the blocked networks.
  Status check_api_camera_url(const std::string& url) const;
  // Free space on the data folder's file system, in bytes (-1 when unknown).
  std::int64_t free_disk_bytes() const;
  bool below_disk_floor() const;
  // Runs approved searches one at a time, on its own connection, until the service stops — and,
  // in a cluster, searches whose runner died (their claim ran out).
  void search_loop();
  // This node can run the search completely: its probe opens with this node's key, and every
  // recording it names is readable here.
  bool search_runnable_here(Database& db, std::int64_t id, const TemplateKey& key);
  // Deletes recorded segments past their retention (audited), files and rows.
  void purge_recordings();
  // Completes the index rows of segments a crash left open (or drops them with their file).
  Status recover_segments();
  void maintenance_loop();
  // A step of the wall clock (core/service_clock.h) seen since the last round: logged and audited once.
  void note_clock_steps();
  Status reload_watchlist();

  // A camera's queue, ingest and place in the analyzer; started when the service runs.
  std::shared_ptr<Camera> make_camera(const CameraConfig& config, bool from_config_file);
  // Loads, on first use, the detector and recognizer that turn uploaded photos (entries, search
  // probes) into templates. The caller holds photo_models_mutex_.
  Status load_photo_models();
  // Templates from uploaded photos: each checked and decoded without a lock, then detected and
  // embedded under photo_models_mutex_.
  Result<std::vector<EntryTemplate>> photo_templates(const std::vector<PhotoUpload>& photos);
  // Starts its ingest, and its recorder when it is recorded and enabled.
  void start_camera(Camera& camera);
  // Stops its ingest (waiting for a read in progress) and takes it out of the analysis.
  void retire_camera(Camera& camera);
  std::vector<std::shared_ptr<Camera>> camera_snapshot() const;
  // Adds what was analysed since the last call to the per-day counts (transparency statistics).
  void flush_analysis_counts();
  std::shared_ptr<Camera> find_camera(const std::string& name) const;

  // A new connection to the service's database (SQLite or PostgreSQL), for one thread's use.
  Result<std::unique_ptr<Database>> connect() const;

  std::string data_dir_;
  DatabaseLocation database_;
  ServiceConfig config_;
  ModelProfile profile_;
  std::unique_ptr<ConsoleAssets> console_;  // null: built without the console

  mutable std::mutex store_mutex_;  // guards alert_store_ for the sink and the HTTP handlers
  std::unique_ptr<AlertStore> alert_store_;
  std::unique_ptr<StoringAlertSink> sink_;
  AlertBroadcaster broadcaster_{256, kAlertsKept};
  // The alert feed (docs/cluster.md, "Alerts across the cluster"): one thread reads every alert
  // after the last one published — this node's and, on PostgreSQL, every node's — in position
  // order, on a connection of its own, and hands it to the live clients.
  static constexpr std::size_t kAlertsKept = 1000;  // for clients resuming with Last-Event-ID
  void alert_feed_loop();
  void wake_feed();
  nlohmann::json alert_event(const AlertRecord& record) const;  // the live stream's, webhooks' and MQTT's JSON
  std::unique_ptr<AlertStore> feed_store_;  // the feed thread's
  std::thread feed_thread_;
  std::mutex feed_mutex_;
  std::condition_variable feed_wake_;
  bool feed_woken_ = false;     // guarded by feed_mutex_
  bool feed_stopping_ = false;  // guarded by feed_mutex_
  std::atomic<std::uint64_t> feed_failures_{0};
  std::string node_;  // this node's name (config `node`, or the host's): leases and delivery claims
  std::vector<std::unique_ptr<WebhookSender>> webhooks_;
  std::unique_ptr<MqttPublisher> mqtt_;
  std::atomic<std::uint64_t> publish_failures_{0};  // events that could not be serialised or handed on

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
  std::unique_ptr<CameraStore> camera_store_;  // guarded by camera_changes_mutex_

  // Watchlist management through the API: one connection for the entries, and the detector and
  // recognizer that turn uploaded photos into templates (loaded on first use) under a lock of
  // their own, so approvals and revocations never wait behind photo work.
  std::mutex entries_mutex_;
  std::unique_ptr<SqlWatchlistStore> entry_store_;  // guarded by entries_mutex_
  std::mutex photo_models_mutex_;
  std::unique_ptr<FaceDetector> enrol_detector_;  // guarded by photo_models_mutex_
  std::unique_ptr<Embedder> enrol_embedder_;      // guarded by photo_models_mutex_
  // Accounts: changes on one connection; authentication (every request) on its own, so a
  // login's password hash never holds up anyone else's request.
  std::mutex users_mutex_;
  std::unique_ptr<UserStore> users_;  // guarded by users_mutex_
  std::mutex auth_mutex_;
  std::unique_ptr<UserStore> auth_users_;  // guarded by auth_mutex_
  LoginThrottle login_throttle_;
  std::counting_semaphore<> export_slots_{1};  // one audit export at a time (it holds the log in memory)
  std::mutex reload_mutex_;                             // one reload at a time, so an older list never replaces a newer one
  std::unique_ptr<SqlWatchlistStore> reload_store_;  // guarded by reload_mutex_
  // The threshold follows the active list's size (match/threshold_policy.h): decided at each
  // reload, for /metrics and /api/profile.
  std::shared_ptr<const FalseMatchCalibration> calibration_;  // null: the profile has none
  ThresholdPolicy threshold_policy_;
  mutable std::mutex threshold_mutex_;
  ThresholdInForce threshold_in_force_;  // guarded by threshold_mutex_
  ThresholdInForce threshold_in_force() const;
  // The service's own connection for its bookkeeping (analysis counts, checkpoints, searches,
  // uploads), opened once: each open would run the schema check in a write transaction.
  // Taken after camera_changes_mutex_ and before cameras_mutex_.
  std::mutex service_db_mutex_;
  std::unique_ptr<Database> service_db_;  // guarded by service_db_mutex_
  std::map<LiveAnalyzer::CameraHandle, LiveCameraStats> flushed_;  // guarded by service_db_mutex_: counts written, per camera
  // The recorders' segment index on a connection of its own: nothing else holds its lock for long.
  std::mutex segment_db_mutex_;
  std::unique_ptr<Database> segment_db_;  // guarded by segment_db_mutex_
  // A closed segment's completion, or a discarded one's removal, that the index refused (a full
  // disk, an I/O error). They wait, in order, and are written when the next segment opens or
  // closes and at each maintenance pass; one still waiting when the process ends is settled
  // from its file at the next start (recover_segments).
  struct SegmentIndexUpdate {
    std::int64_t id = 0;
    bool discard = false;
    std::int64_t end_ms = 0;
    std::int64_t bytes = 0;
  };
  std::deque<SegmentIndexUpdate> segment_updates_waiting_;  // guarded by segment_db_mutex_
  std::atomic<std::size_t> segment_updates_waiting_count_{0};  // its size, for /metrics
  // Queues `update` (if any) behind those waiting and writes them in order until one fails;
  // the caller holds segment_db_mutex_.
  void settle_segment_updates(std::optional<SegmentIndexUpdate> update);
  // Audit records of reads (evidence, entries, search results) on a connection of their own.
  std::mutex audit_db_mutex_;
  std::unique_ptr<Database> audit_db_;  // guarded by audit_db_mutex_
  std::atomic<std::size_t> watchlist_entries_{0};
  std::atomic<std::uint64_t> watchlist_reloads_{0};
  std::atomic<std::uint64_t> evidence_purged_{0};
  std::atomic<std::uint64_t> storage_refusals_{0};  // requests answered 507: the database could not be written
  std::uint64_t clock_steps_noted_ = 0;  // maintenance thread only: steps already logged and audited
  std::atomic<std::uint64_t> alerts_purged_{0};
  std::atomic<std::uint64_t> audit_checkpoints_{0};
  std::atomic<std::uint64_t> purge_failures_{0};  // files that could not be deleted (retried)
  std::atomic<std::uint64_t> ended_entries_cleared_{0};  // ended entries whose templates and photos were deleted
  std::atomic<std::uint64_t> biometrics_purge_failures_{0};  // passes that could not delete them (retried next pass)
  std::atomic<std::uint64_t> memory_returned_bytes_{0};  // given back to the system by the maintenance thread

  SecurityLog security_log_;
  std::filesystem::path recordings_dir_;
  // Recorded segments of cameras no longer configured keep this retention.
  static constexpr double kDefaultRecordRetentionDays = 7.0;
  std::atomic<std::uint64_t> segments_purged_{0};
  std::atomic<std::uint64_t> segment_index_errors_{0};
  // Searches of recordings: approved ones run one at a time on search_thread_.
  std::thread search_thread_;
  std::mutex searches_mutex_;  // taken before service_db_mutex_ (cancelling a running search), never after
  std::condition_variable searches_wake_;
  std::optional<std::int64_t> running_search_;      // guarded by searches_mutex_
  std::optional<SearchProgress> running_progress_;  // guarded by searches_mutex_
  std::atomic<bool> cancel_running_search_{false};
  std::atomic<bool> stop_search_parts_{false};  // set by stop(): parts searched here are let go
  std::atomic<std::uint64_t> searches_finished_{0};
  std::atomic<std::uint64_t> search_parts_searched_{0};  // parts of searches this node stored (a cluster)
  std::atomic<std::uint64_t> search_parts_failed_{0};    // batches that could not run or store
  std::unique_ptr<http::HttpServer> http_;
  std::thread maintenance_thread_;
  // On PostgreSQL: a connection LISTENing for the watchlist changes any node commits, which
  // reloads the watchlist at once (docs/cluster.md, "One watchlist"), and for alerts any node
  // stores, which wakes the feed.
  void cluster_listen_loop();
  bool stopping() const;
  std::thread watchlist_listen_thread_;
  // On PostgreSQL: the API's cameras leased across the nodes (cluster/camera_leases.h). The lease
  // loop renews every lease_s / 3 and runs exactly the cameras this node holds; a node that
  // cannot renew for longer than its lease stops them itself (the database's fence refuses
  // their writes anyway).
  void lease_loop();
  // Starts the held cameras not running here, restarts those whose stored settings changed, and
  // retires those no longer held.
  void run_held_cameras(const std::set<std::string>& held);
  std::unique_ptr<CameraLeases> leases_;  // renewed by the lease thread only; its settings read by any
  // The fence a leased camera's writes (alerts, segments) carry: nullopt for a camera that is
  // this node's own, or on one machine.
  std::optional<WriteFence> fence_for(const std::string& camera) const;
  std::atomic<std::uint64_t> fenced_segments_{0};
  std::thread lease_thread_;
  std::set<std::string> leased_running_;  // guarded by cameras_mutex_: leased cameras running here
  std::atomic<std::int64_t> lease_epoch_{0};
  std::atomic<std::uint64_t> lease_renewals_{0};
  std::atomic<std::uint64_t> lease_failures_{0};
  std::atomic<std::uint64_t> lease_lapses_{0};
  std::atomic<std::uint64_t> cameras_taken_{0};
  std::atomic<std::uint64_t> cameras_given_back_{0};
  bool cluster() const { return database_.is_postgres(); }
  std::atomic<std::uint64_t> watchlist_notifications_{0};
  std::atomic<std::uint64_t> watchlist_listen_failures_{0};
  mutable std::mutex maintenance_mutex_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;  // guarded by maintenance_mutex_
  bool database_back_ = false;  // guarded by maintenance_mutex_: the lease renews again after failing
  int port_ = 0;
  std::atomic<bool> ready_{false};
};

}  // namespace glassbox
