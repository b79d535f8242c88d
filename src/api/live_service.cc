#include "api/live_service.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "api/http_util.h"
#include "api/openapi_document.h"
#include "audit/audit_log.h"
#include "cluster/cluster_status.h"
#include "core/json_text.h"
#include "core/process_memory.h"
#include "core/service_clock.h"
#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "enroll/enrollment.h"
#include "ingest/image_sources.h"
#include "ingest/video_source.h"
#include "pipeline/recognizers.h"
#include "pipeline/watchlist_loader.h"
#include "store/postgres_database.h"
#include "store/postgres_listener.h"
#include "store/search_store.h"
#include "store/transparency.h"
#include "track/tracker.h"

namespace glassbox {
namespace {

using nlohmann::json;
using namespace glassbox::http;

json alert_record_json(const AlertRecord& r) {
  json j = {{"id", r.id},
            {"entry_id", r.entry_id},
            {"subject", r.subject},
            {"camera", r.camera},
            {"profile", r.profile},
            {"score", std::round(r.score * 1e4) / 1e4},
            {"threshold", r.threshold},
            {"stream_time_s", std::round(r.stream_time_s * 1e3) / 1e3},
            {"frame", r.frame_index},
            {"track", r.track},
            {"box", {{"x", r.box.x}, {"y", r.box.y}, {"w", r.box.width}, {"h", r.box.height}}},
            {"raised_at", format_utc(r.raised_at)},
            {"status", alert_status_name(r.status)},
            {"evidence", r.has_evidence}};
  if (r.decided_by) j["decided_by"] = *r.decided_by;
  if (r.decided_at) j["decided_at"] = format_utc(*r.decided_at);
  if (r.dismiss_reason) j["dismiss_reason"] = *r.dismiss_reason;
  if (r.estimated_fpir) j["estimated_fpir"] = *r.estimated_fpir;
  if (r.list_templates) j["list_templates"] = *r.list_templates;
  if (r.quality) j["quality"] = face_quality_json(*r.quality);
  return j;
}

// A live client's stream of alert events: polled by the HTTP server's I/O thread, woken by the
// broadcaster; it ends with the credential it was opened with.
class AlertEventStream final : public EventStream {
 public:
  AlertEventStream(AlertBroadcaster& broadcaster, AlertBroadcaster::Handle subscription)
      : broadcaster_(broadcaster), subscription_(std::move(subscription)) {}
  std::optional<std::string> poll() override {
    std::string out;
    for (int i = 0; i < 64; ++i) {
      auto event = subscription_->next(now_utc());
      if (!event) return out.empty() ? std::nullopt : std::optional<std::string>(out);  // the end comes at the next poll
      if (event->empty()) break;
      out += *event;
    }
    return out;
  }
  void set_waker(std::function<void()> wake) override { subscription_->set_waker(std::move(wake)); }
  void close() override { broadcaster_.unsubscribe(subscription_); }

 private:
  AlertBroadcaster& broadcaster_;
  AlertBroadcaster::Handle subscription_;
};

// The data folder and what the service keeps in it readable by the service's account only: the
// database holds evidence crops, password hashes and camera credentials. What an earlier version
// made with the usual umask is tightened: the folder, the database and its companions (WAL,
// keys), a cluster node's keys (cluster-node.*), and the upload and recording folders — nothing
// else that may share the folder.
Status restrict_to_owner(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  const auto others = fs::perms::group_all | fs::perms::others_all;
  std::error_code ec;
  fs::permissions(folder, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Error{folder.string() + ": cannot make the data folder owner-only: " + ec.message()};
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("glassbox.db", 0) != 0 && name.rfind("cluster-node.", 0) != 0 && name != "uploads" && name != "recordings") continue;
    std::error_code file_ec;
    if (entry.is_symlink(file_ec)) continue;
    const auto perms = entry.symlink_status(file_ec).permissions();
    if (!file_ec && (perms & others) != fs::perms::none) fs::permissions(entry.path(), perms & ~others, fs::perm_options::replace, file_ec);
  }
  return ok_status();
}

bool loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

Result<std::unique_ptr<LiveService>> LiveService::create(const std::string& data_dir, ServiceConfig config) {
  std::unique_ptr<LiveService> service(new LiveService());
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Error{data_dir + ": cannot create the data folder: " + ec.message()};
  if (auto s = restrict_to_owner(data_dir); !s) return s.error();
  service->data_dir_ = data_dir;
  auto location = database_location(data_dir, config.database);
  if (!location) return location.error();
  if (!config.listen_database.empty() && !location->is_postgres())
    return Error{"listen_database is for a cluster's PostgreSQL: give database (or --db) too"};
  service->database_ = *location;
  service->database_.postgres_listen = config.listen_database;
  service->config_ = std::move(config);
  if (!service->config_.access_log.empty())
    if (auto s = service->security_log_.open_access_log(service->config_.access_log); !s) return s.error();
  // Absolute, so the segment index stays right whatever the working folder of a later reader.
  service->recordings_dir_ = std::filesystem::absolute(service->config_.recordings_dir.empty()
                                                           ? std::filesystem::path(data_dir) / "recordings"
                                                           : std::filesystem::path(service->config_.recordings_dir));
  if (auto dir = ConsoleAssets::locate(service->config_.console_dir)) {
    auto assets = ConsoleAssets::load(*dir);
    if (!assets) return assets.error().within("console_dir");
    service->console_ = std::make_unique<ConsoleAssets>(std::move(*assets));
  }
  auto profile = load_model_profile(service->config_.profile);
  if (!profile) return profile.error();
  service->profile_ = *profile;
  auto calibration = load_false_match_calibration(service->profile_);
  if (!calibration) return calibration.error();
  if (*calibration) service->calibration_ = std::make_shared<const FalseMatchCalibration>(std::move(**calibration));
  service->threshold_policy_ = {service->config_.target_fpir, service->config_.threshold,
                                kDefaultViewsPerTrack, true};
  // The first connection brings PostgreSQL's schema up to date (SQLite's is at every open).
  auto first = glassbox::connect(service->database_, ConnectMode::kMigrate);
  if (!first) return first.error();
  service->alert_store_ = std::make_unique<AlertStore>(std::move(*first));
  service->sink_ = std::make_unique<StoringAlertSink>(*service->alert_store_, service->store_mutex_,
                                                      service->config_.evidence_retention_days);
  service->node_ = service->config_.node;
  if (service->node_.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return Error{"node: give this node a name (the host's name is unknown)"};
    service->node_ = host;
  }
  LiveService* self = service.get();
  // Webhooks and MQTT take their deliveries from the outbox, each on a connection of its own; the
  // alert's transaction writes a delivery for each of them (api/alert_outbox.h).
  auto render = [self](const AlertRecord& r) { return self->alert_event(r); };
  std::vector<std::string> endpoints;
  for (const WebhookConfig& hook : service->config_.webhooks) {
    auto db = service->connect();
    if (!db) return db.error();
    AlertOutbox::Settings settings;
    settings.endpoint = AlertOutbox::endpoint_key("webhook", hook.url);
    settings.node = service->node_;
    settings.max_attempts = hook.max_attempts;
    settings.claim = std::chrono::milliseconds(static_cast<int>(hook.timeout_s * 3000) + 10000);
    endpoints.push_back(settings.endpoint);
    service->webhooks_.push_back(
        std::make_unique<WebhookSender>(hook, std::make_unique<AlertOutbox>(std::make_unique<AlertStore>(std::move(*db)), settings, render)));
  }
  if (service->config_.mqtt) {
    const MqttConfig& mqtt = *service->config_.mqtt;
    auto db = service->connect();
    if (!db) return db.error();
    AlertOutbox::Settings settings;
    settings.endpoint = AlertOutbox::endpoint_key("mqtt", mqtt.host + ":" + std::to_string(mqtt.port) + "/" + mqtt.topic);
    settings.node = service->node_;
    settings.max_attempts = 0;  // kept until the broker takes it
    endpoints.push_back(settings.endpoint);
    service->mqtt_ =
        std::make_unique<MqttPublisher>(mqtt, std::make_unique<AlertOutbox>(std::make_unique<AlertStore>(std::move(*db)), settings, render));
  }
  service->sink_->write_as(service->config_.realert_s.value_or(service->cluster() ? 60 : 0), endpoints);
  // Runs on an analysis worker: the feed's thread publishes the alert to live clients, and the
  // senders look in the outbox.
  service->sink_->on_stored([self](std::int64_t, const Alert&) {
    self->wake_feed();
    for (auto& hook : self->webhooks_) hook->poke();
    if (self->mqtt_) self->mqtt_->poke();
  });
  // Live clients that reconnect with Last-Event-ID find the latest alerts kept in memory.
  {
    auto feed_db = service->connect();
    if (!feed_db) return feed_db.error();
    service->feed_store_ = std::make_unique<AlertStore>(std::move(*feed_db));
    auto head = service->feed_store_->feed_head();
    if (!head) return head.error();
    auto latest = service->feed_store_->feed(std::max<std::int64_t>(0, *head - static_cast<std::int64_t>(kAlertsKept)), kAlertsKept);
    if (!latest) return latest.error();
    for (const AlertRecord& r : *latest) service->broadcaster_.preload(r.feed_position, to_json_text(service->alert_event(r)));
  }
  // One OpenCV thread per worker on a machine of as many cores (load_recognizers sizes the
  // pool): the workers are the parallelism, and OpenCV's own threads would only contend.
  DetectorOptions detector;
  detector.max_side = service->config_.detect_size;
  auto recognizers = load_recognizers(service->config_.workers, service->profile_, detector);
  if (!recognizers) return recognizers.error();
  std::vector<LiveAnalyzer::Worker> workers;
  for (Recognizer& r : *recognizers) workers.push_back({std::move(r.detector), std::move(r.embedder)});
  service->analyzer_ = std::make_unique<LiveAnalyzer>(std::move(workers), *service->sink_,
                                                      std::make_shared<WatchlistMatrix>(service->profile_.metric, service->profile_.dimension));
  if (auto s = service->reload_watchlist(); !s) return s.error();
  auto camera_db = service->connect();
  if (!camera_db) return camera_db.error();
  service->camera_store_ = std::make_unique<CameraStore>(std::move(*camera_db));
  auto entry_db = service->connect();
  if (!entry_db) return entry_db.error();
  service->entry_store_ = std::make_unique<SqlWatchlistStore>(std::move(*entry_db));
  for (auto* connection : {&service->segment_db_, &service->audit_db_}) {
    auto db = service->connect();
    if (!db) return db.error();
    *connection = std::move(*db);
  }
  // Starting with a configuration is a configuration change: audited, or no start.
  {
    auto db = service->connect();
    if (!db) return db.error();
    service->service_db_ = std::move(*db);
    Database& database = *service->service_db_;
    json cameras = json::array(), hooks = json::array();
    for (const CameraConfig& c : service->config_.cameras) cameras.push_back(camera_to_json(c));
    // A webhook's URL often is its secret (the path): the record keeps its host.
    for (const WebhookConfig& w : service->config_.webhooks) {
      const auto target = parse_http_url(w.url);
      hooks.push_back(target ? target->origin() : std::string("?"));
    }
    json details = {{"profile", service->config_.profile},
                    {"workers", service->config_.workers},
                    {"detect_size", service->config_.detect_size},
                    {"evidence_retention_days", service->config_.evidence_retention_days},
                    {"cameras", cameras},
                    {"webhooks", hooks},
                    {"tls", !service->config_.tls_cert_file.empty()},
                    {"behind_tls_proxy", service->config_.behind_tls_proxy},
                    // Which database, never its password (describe() leaves it out).
                    {"database", database.describe()}};
    if (service->config_.mqtt) details["mqtt"] = service->config_.mqtt->host + ":" + std::to_string(service->config_.mqtt->port);
    if (auto s = database.transaction([&] { return audit::append(database, {"system", "service.start", "service", details}, now_utc()); }); !s)
      return s.error().within("the service start could not be audited, so it does not start");
    if (auto s = service->recover_segments(); !s) return s.error();
    // A search this node was running when it died is let go at once: run again from the start
    // (by this node or, in a cluster, another).
    if (auto s = release_searches(database, service->node_); !s) return s.error();
  }
  for (auto* store_ptr : {&service->users_, &service->auth_users_}) {
    auto users_db = service->connect();
    if (!users_db) return users_db.error();
    *store_ptr = std::make_unique<UserStore>(std::move(*users_db));
  }
  // Authentication reads; its occasional write (a session's last use) gives way quickly to a busy
  // database rather than hold the request (S-05).
  service->auth_users_->set_busy_timeout(std::chrono::milliseconds(250));
  auto api_cameras = service->camera_store_->list();
  if (!api_cameras) return api_cameras.error();
  for (const CameraConfig& c : service->config_.cameras) service->cameras_[c.name] = service->make_camera(c, true);
  for (const CameraConfig& c : *api_cameras) {
    if (service->cameras_.count(c.name))
      return Error{"camera '" + c.name + "' is in the configuration file and was also created through the API (kept in " +
                   service->service_db_->describe() + "); rename it in the file"};
    // In a cluster the API's cameras run where they are leased (lease_loop), not everywhere.
    if (!service->cluster()) service->cameras_[c.name] = service->make_camera(c, false);
  }
  if (service->cluster()) {
    LeaseSettings settings{service->node_, service->config_.capacity, "", service->config_.lease_s};
    auto lease_db = service->connect();
    if (!lease_db) return lease_db.error();
    auto leases = CameraLeases::create(std::move(*lease_db), settings);
    if (!leases) return leases.error();
    service->leases_ = std::move(*leases);
    service->sink_->fence_with([self](const std::string& camera) { return self->fence_for(camera); });
  }
  service->register_routes();
  return service;
}

LiveService::~LiveService() { stop(); }

std::optional<WriteFence> LiveService::fence_for(const std::string& camera) const {
  if (!leases_) return std::nullopt;
  std::lock_guard lock(cameras_mutex_);
  if (!leased_running_.count(camera)) return std::nullopt;
  return WriteFence{leases_->settings().node, lease_epoch_.load()};
}

Result<std::unique_ptr<Database>> LiveService::connect() const { return glassbox::connect(database_); }

std::shared_ptr<LiveService::Camera> LiveService::make_camera(const CameraConfig& c, bool from_config_file) {
  auto camera = std::make_shared<Camera>();
  camera->config = c;
  camera->from_config_file = from_config_file;
  camera->queue = std::make_unique<DropOldestQueue<CapturedFrame>>(static_cast<std::size_t>(config_.queue_frames));
  CameraIngestOptions options;
  options.rate_fps = c.rate_fps;
  options.stall_timeout = std::chrono::milliseconds(static_cast<int>(c.stall_timeout_s * 1000));
  options.loop = c.loop;
  options.realtime = !looks_like_url(c.url);  // a file stands in for a camera
  options.enabled = c.enabled;
  SourceOptions source_options;
  source_options.open_timeout_s = c.stall_timeout_s;
  source_options.read_timeout_s = c.stall_timeout_s;
  const std::string url = c.url;
  camera->ingest = std::make_unique<CameraIngest>(c.name, [url, source_options] { return open_source(url, source_options); },
                                                  *camera->queue, options);
  AnalysisOptions analysis;
  analysis.rate_fps = c.rate_fps;
  analysis.min_face_px = c.min_face_px;
  analysis.threshold = threshold_in_force().threshold;  // then the one set with each list
  analysis.calibration = calibration_;
  camera->analysis = analyzer_->add_camera(c.name, *camera->queue, analysis);
  if (c.record) {
    RecorderOptions recording;
    recording.directory = recordings_dir_ / c.name;
    recording.segment_s = config_.record_segment_s;
    recording.open_timeout_s = c.stall_timeout_s;
    recording.read_timeout_s = c.stall_timeout_s;
    recording.loop = c.loop;
    recording.realtime = !looks_like_url(c.url);
    // Below the free-space floor no new segment opens (the camera is still analysed).
    recording.may_write = [this] { return !below_disk_floor(); };
    SegmentIndex index;
    index.opened = [this, name = c.name](const std::string& path, std::int64_t start_ms) -> Result<std::int64_t> {
      // A leased camera's segment is indexed under the node's fence: a node whose lease passed
      // writes no segment for it (the recorder then deletes the file it began).
      const std::optional<WriteFence> fence = fence_for(name);
      std::lock_guard lock(segment_db_mutex_);
      settle_segment_updates(std::nullopt);  // the disk may take writes again
      auto id = add_segment(*segment_db_, name, path, start_ms, fence);
      if (!id && CameraLeases::is_fenced(id.error())) {
        ++fenced_segments_;
      } else if (!id) {
        ++segment_index_errors_;
      }
      return id;
    };
    index.closed = [this](std::int64_t id, std::int64_t end_ms, std::int64_t bytes) {
      std::lock_guard lock(segment_db_mutex_);
      settle_segment_updates(SegmentIndexUpdate{id, false, end_ms, bytes});
    };
    index.discarded = [this](std::int64_t id) {
      std::lock_guard lock(segment_db_mutex_);
      settle_segment_updates(SegmentIndexUpdate{id, true, 0, 0});
    };
    camera->recorder = std::make_unique<SegmentRecorder>(c.name, c.url, recording, std::move(index));
  }
  return camera;
}

void LiveService::settle_segment_updates(std::optional<SegmentIndexUpdate> update) {
  if (update) segment_updates_waiting_.push_back(*update);
  while (!segment_updates_waiting_.empty()) {
    const SegmentIndexUpdate& next = segment_updates_waiting_.front();
    const Status written = next.discard ? drop_segment(*segment_db_, next.id) : complete_segment(*segment_db_, next.id, next.end_ms, next.bytes);
    if (!written) {
      ++segment_index_errors_;
      break;
    }
    segment_updates_waiting_.pop_front();
  }
  segment_updates_waiting_count_ = segment_updates_waiting_.size();
}

Status LiveService::load_photo_models() {
  if (enrol_detector_) return ok_status();
  auto detector = YuNetDetector::create({});
  if (!detector) return detector.error();
  auto embedder = OnnxEmbedder::create(profile_);
  if (!embedder) return embedder.error();
  enrol_detector_ = std::move(*detector);
  enrol_embedder_ = std::move(*embedder);
  return ok_status();
}

Result<std::vector<EntryTemplate>> LiveService::photo_templates(const std::vector<PhotoUpload>& photos) {
  std::vector<EntryTemplate> templates;
  std::vector<std::string> refused;
  for (const PhotoUpload& photo : photos) {
    // Checked (JPEG or PNG, size, pixels) and decoded without any lock; one at a time, so a
    // request holds at most one decoded image.
    auto image = decode_uploaded_photo(photo.name, photo.bytes);
    if (!image) {
      refused.push_back(image.error().message);
      continue;
    }
    auto digest = sha256_bytes(photo.bytes);
    if (!digest) return digest.error();
    std::lock_guard lock(photo_models_mutex_);
    if (auto loaded = load_photo_models(); !loaded) return loaded.error();
    auto t = template_from_image(photo.name, *image, *digest, *enrol_detector_, *enrol_embedder_, PhotoOptions{});
    if (t) templates.push_back(std::move(*t));
    else refused.push_back(t.error().message);
  }
  if (!refused.empty()) {
    std::string message = "refused, nothing stored:";
    for (const auto& r : refused) message += "\n  - " + r;
    return Error{message};
  }
  return templates;
}

void LiveService::start_camera(Camera& camera) {
  camera.ingest->start();
  if (camera.recorder && camera.config.enabled) camera.recorder->start();
}

void LiveService::retire_camera(Camera& camera) {
  camera.ingest->stop();
  if (camera.recorder) camera.recorder->stop();  // its last segment is closed and indexed
  flush_analysis_counts();  // its counts so far, before they go with it
  analyzer_->remove_camera(camera.analysis);
}

void LiveService::flush_analysis_counts() {
  std::lock_guard lock(service_db_mutex_);
  Database& db = *service_db_;
  std::vector<std::pair<LiveAnalyzer::CameraHandle, LiveCameraStats>> written;
  const UnixSeconds now = now_utc();
  // On failure nothing is marked written: the counts stay in memory and go with the next call.
  const auto status = db.transaction([&]() -> Status {
    for (const auto& camera : camera_snapshot()) {
      const auto current = analyzer_->camera_stats(camera->analysis);
      if (!current) continue;
      const LiveCameraStats& before = flushed_[camera->analysis];
      const AnalysisCounts delta{current->frames_analysed - before.frames_analysed, current->faces_detected - before.faces_detected,
                                 current->faces_embedded - before.faces_embedded};
      if (auto s = add_analysis_counts(db, camera->config.name, delta, now); !s) return s;
      written.emplace_back(camera->analysis, *current);
    }
    return ok_status();
  });
  if (status)
    for (const auto& [handle, stats] : written) flushed_[handle] = stats;
}

std::vector<std::shared_ptr<LiveService::Camera>> LiveService::camera_snapshot() const {
  std::lock_guard lock(cameras_mutex_);
  std::vector<std::shared_ptr<Camera>> out;
  for (const auto& [name, camera] : cameras_) out.push_back(camera);
  return out;
}

std::shared_ptr<LiveService::Camera> LiveService::find_camera(const std::string& name) const {
  std::lock_guard lock(cameras_mutex_);
  const auto it = cameras_.find(name);
  return it == cameras_.end() ? nullptr : it->second;
}

Status LiveService::reload_watchlist() {
  std::lock_guard lock(reload_mutex_);
  // A connection of its own (callers: the maintenance thread, create(), the handlers of
  // approvals and revocations), opened on first use.
  if (!reload_store_) {
    auto db = connect();
    if (!db) return db.error();
    reload_store_ = std::make_unique<SqlWatchlistStore>(std::move(*db));
  }
  auto loaded = load_watchlist(*reload_store_, profile_, now_utc());
  if (!loaded) return loaded.error();
  watchlist_entries_ = loaded->matrix.entries();
  // The threshold for this list's size, in force from the same moment as the list.
  ThresholdInForce decided = decide_threshold(profile_, calibration_.get(), threshold_policy_, loaded->matrix.rows());
  {
    std::lock_guard threshold_lock(threshold_mutex_);
    if (decided.threshold != threshold_in_force_.threshold || decided.templates != threshold_in_force_.templates)
      std::cerr << "glassbox serve: threshold in force: " << decided.why << "\n";
    threshold_in_force_ = decided;
  }
  analyzer_->set_watchlist(std::make_shared<WatchlistMatrix>(std::move(loaded->matrix)), decided.threshold,
                           static_cast<int>(decided.searches_per_track));
  ++watchlist_reloads_;
  return ok_status();
}

ThresholdInForce LiveService::threshold_in_force() const {
  std::lock_guard lock(threshold_mutex_);
  return threshold_in_force_;
}

bool LiveService::stopping() const {
  std::lock_guard lock(maintenance_mutex_);
  return stopping_;
}

void LiveService::cluster_listen_loop() {
  auto backoff = std::chrono::milliseconds(500);
  while (!stopping()) {
    auto listener = PostgresListener::listen(database_.listen_connection(), {"glassbox_watchlist", "glassbox_alert"});
    if (!listener) {
      // The periodic reload (watchlist_reload_s) and the feed's poll still run; listening is
      // tried again.
      ++watchlist_listen_failures_;
      std::unique_lock lock(maintenance_mutex_);
      maintenance_wake_.wait_for(lock, backoff, [&] { return stopping_ || database_back_; });
      backoff = database_back_ ? std::chrono::milliseconds(500) : std::min(backoff * 2, std::chrono::milliseconds(30000));
      database_back_ = false;
      continue;
    }
    backoff = std::chrono::milliseconds(500);
    // What changed while nobody listened (a start, a lost connection) is read now.
    (void)reload_watchlist();
    wake_feed();
    while (!stopping()) {
      auto arrived = (*listener)->wait(std::chrono::milliseconds(500));
      if (!arrived) {
        ++watchlist_listen_failures_;
        break;  // connect again
      }
      if (arrived->count("glassbox_alert")) wake_feed();
      const auto changes = arrived->count("glassbox_watchlist");
      if (changes == 0) continue;
      watchlist_notifications_ += changes;
      (void)reload_watchlist();  // on failure the previous list stays, and the periodic reload tries again
    }
  }
}

json LiveService::alert_event(const AlertRecord& r) const {
  // The alert as `watch` prints it (docs/watch-output.md), with the record's fields and its
  // place in the feed.
  json event = alert_record_json(r);
  event["type"] = "alert";
  event["source"] = r.camera;
  event["timestamp_s"] = event["stream_time_s"];
  if (r.profile == profile_.name) event["metric"] = metric_name(profile_.metric);
  event["position"] = r.feed_position;
  // When the frame was captured, on the wall clock: a receiver on a synchronised clock measures
  // frame-to-screen latency with it (the console's latency benchmark does).
  if (r.captured_at_ms) event["captured_at"] = format_utc_ms(*r.captured_at_ms);
  return event;
}

void LiveService::wake_feed() {
  {
    std::lock_guard lock(feed_mutex_);
    feed_woken_ = true;
  }
  feed_wake_.notify_all();
}

void LiveService::alert_feed_loop() {
  while (true) {
    {
      std::unique_lock lock(feed_mutex_);
      // Woken by this node's alerts and (PostgreSQL) every node's NOTIFY; a poll every second
      // covers a notification lost with a listening connection.
      feed_wake_.wait_for(lock, std::chrono::seconds(1), [&] { return feed_woken_ || feed_stopping_; });
      if (feed_stopping_) return;
      feed_woken_ = false;
    }
    // Everything after the last position published, in order: positions are gap-free in commit
    // order, so nothing committed before a later position is missed.
    while (true) {
      auto next = feed_store_->feed(broadcaster_.published(), 200);
      if (!next) {
        ++feed_failures_;
        break;
      }
      for (const AlertRecord& r : *next) {
        try {
          broadcaster_.publish(r.feed_position, to_json_text(alert_event(r)));
        } catch (const std::exception& e) {
          ++publish_failures_;
          security_log_.internal_error("publishing alert " + std::to_string(r.id) + ": " + e.what());
        }
      }
      if (next->size() < 200) break;
    }
  }
}

void LiveService::lease_loop() {
  const auto period = std::chrono::milliseconds(static_cast<int>(config_.lease_s * 1000 / 3));
  auto last_renewed = std::chrono::steady_clock::now();
  bool first = true;
  bool failing = false;
  while (!stopping()) {
    auto renewal = leases_->renew();
    if (renewal) {
      if (failing) {
        // The database is back: the LISTEN connection is tried again now, not at the end of its
        // backoff, so that changes reach this node at once again.
        std::lock_guard lock(maintenance_mutex_);
        database_back_ = true;
        maintenance_wake_.notify_all();
      }
      failing = false;
      ++lease_renewals_;
      if (renewal->rejoined && !first) ++lease_lapses_;
      first = false;
      last_renewed = std::chrono::steady_clock::now();
      lease_epoch_ = renewal->epoch;
      cameras_taken_ += renewal->taken.size();
      cameras_given_back_ += renewal->released.size();
      run_held_cameras(renewal->held);
    } else {
      failing = true;
      ++lease_failures_;
      security_log_.internal_error("renewing the camera lease: " + renewal.error().message);
      // Past the lease without a renewal, the cameras may be someone else's: stop them here.
      if (std::chrono::steady_clock::now() - last_renewed > std::chrono::milliseconds(static_cast<int>(config_.lease_s * 1000)))
        run_held_cameras({});
    }
    std::unique_lock lock(maintenance_mutex_);
    maintenance_wake_.wait_for(lock, period, [&] { return stopping_; });
  }
}

void LiveService::run_held_cameras(const std::set<std::string>& held) {
  std::lock_guard changes(camera_changes_mutex_);
  std::map<std::string, CameraConfig> stored;
  if (!held.empty()) {
    auto listed = camera_store_->list();
    if (!listed) return;  // tried again at the next renewal
    for (const CameraConfig& c : *listed) stored[c.name] = c;
  }
  std::vector<std::shared_ptr<Camera>> to_retire;
  {
    std::lock_guard lock(cameras_mutex_);
    for (auto it = leased_running_.begin(); it != leased_running_.end();) {
      const auto running = cameras_.find(*it);
      const auto settings = stored.find(*it);
      const bool keep = held.count(*it) && settings != stored.end() && running != cameras_.end() &&
                        camera_to_json(settings->second) == camera_to_json(running->second->config);
      if (keep) {
        ++it;
        continue;
      }
      if (running != cameras_.end()) {
        to_retire.push_back(running->second);
        cameras_.erase(running);
      }
      it = leased_running_.erase(it);
    }
  }
  for (auto& camera : to_retire) retire_camera(*camera);
  std::lock_guard lock(cameras_mutex_);
  for (const std::string& name : held) {
    const auto settings = stored.find(name);
    if (leased_running_.count(name) || settings == stored.end() || cameras_.count(name)) continue;
    auto camera = make_camera(settings->second, false);
    if (cameras_started_) start_camera(*camera);
    cameras_[name] = camera;
    leased_running_.insert(name);
  }
}

void LiveService::note_clock_steps() {
  const std::uint64_t steps = service_clock().steps();
  if (steps == clock_steps_noted_) return;
  const std::int64_t offset_ms = service_clock().wall_offset_ms();
  std::fprintf(stderr,
               "glassbox: the wall clock was stepped: it reads %+.1f s from the service's time, which does not follow it (entries, "
               "sessions and retention keep their course); restart the service to adopt the wall clock\n",
               static_cast<double>(offset_ms) / 1000.0);
  std::lock_guard lock(service_db_mutex_);
  const auto recorded = service_db_->transaction([&] {
    return audit::append(*service_db_, {"system", "clock.step", "clock", {{"wall_minus_service_s", static_cast<double>(offset_ms) / 1000.0}}},
                         now_utc());
  });
  if (recorded) clock_steps_noted_ = steps;  // else tried again at the next round
}

void LiveService::maintenance_loop() {
  auto next_purge = std::chrono::steady_clock::now();
  auto next_recording_purge = std::chrono::steady_clock::now();
  auto next_checkpoint = std::chrono::steady_clock::now();
  auto next_memory_return = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  std::int64_t checkpointed_size = 0;
  while (true) {
    {
      std::unique_lock lock(maintenance_mutex_);
      if (maintenance_wake_.wait_for(lock, std::chrono::milliseconds(static_cast<int>(config_.watchlist_reload_s * 1000)),
                                     [&] { return stopping_; }))
        return;
    }
    (void)reload_watchlist();  // on failure the previous list stays in force
    sink_->store_waiting();     // alerts a failing disk refused, once it takes writes again
    if (segment_updates_waiting_count_ > 0) {  // and the segment index's updates
      std::lock_guard lock(segment_db_mutex_);
      settle_segment_updates(std::nullopt);
    }
    note_clock_steps();
    flush_analysis_counts();
    // Credentials ended by another process (the command line) end their live streams too.
    broadcaster_.end_invalid([this](const std::string& key) {
      std::lock_guard lock(auth_mutex_);
      auto valid = auth_users_->credential_valid(key, now_utc());
      return !valid || *valid;  // a database hiccup ends nothing
    });
    {
      // Ended entries' templates and photos, once their retention is over (a cheap query when none is due).
      const UnixSeconds now = now_utc();
      std::lock_guard lock(entries_mutex_);
      auto deleted = entry_store_->delete_ended_biometrics(now - static_cast<UnixSeconds>(config_.ended_entry_retention_days) * 86400,
                                                           "glassbox", now);
      if (deleted) ended_entries_cleared_ += static_cast<std::uint64_t>(*deleted);
      else ++biometrics_purge_failures_;
    }
    if (std::chrono::steady_clock::now() >= next_checkpoint) {
      next_checkpoint = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(config_.audit_checkpoint_interval_s * 1000));
      std::lock_guard lock(service_db_mutex_);
      std::int64_t records = 0;
      {
        auto size = service_db_->prepare("SELECT count(*) FROM audit_records");
        if (auto row = next_row(*size, "cannot count the audit records"); row && *row) records = size->int64(0);
      }
      if (records > checkpointed_size) {
        if (auto c = audit::make_checkpoint(*service_db_, now_utc()); c) {
          checkpointed_size = records;
          ++audit_checkpoints_;
        }
      }
    }
    if (std::chrono::steady_clock::now() >= next_purge) {
      next_purge = std::chrono::steady_clock::now() + std::chrono::minutes(10);
      std::lock_guard lock(store_mutex_);
      if (auto purged = alert_store_->purge_evidence(now_utc()); purged) evidence_purged_ += static_cast<std::uint64_t>(*purged);
      const UnixSeconds cutoff = now_utc() - static_cast<UnixSeconds>(config_.alert_retention_days) * 86400;
      if (auto purged = alert_store_->purge_alerts(cutoff, now_utc()); purged) alerts_purged_ += static_cast<std::uint64_t>(*purged);
    }
    if (std::chrono::steady_clock::now() >= next_recording_purge) {
      next_recording_purge = std::chrono::steady_clock::now() + std::chrono::minutes(1);
      purge_recordings();
      std::lock_guard lock(service_db_mutex_);
      (void)expire_searches(*service_db_, now_utc());  // retried next time on failure
      const UnixSeconds unfinished_before = now_utc() - static_cast<UnixSeconds>(config_.upload_unfinished_hours * 3600.0);
      if (auto purged = purge_uploads(*service_db_, now_utc(), unfinished_before); purged) purge_failures_ += static_cast<std::uint64_t>(purged->failed);
    }
    if (std::chrono::steady_clock::now() >= next_memory_return) {
      // Frames freed after a burst stay in the allocator's arenas until given back (process_memory.h).
      next_memory_return = std::chrono::steady_clock::now() + std::chrono::minutes(1);
      memory_returned_bytes_ += return_free_memory();
    }
  }
}

Status LiveService::start(const std::string& host, int port) {
  // Passwords, session cookies, tokens and face crops must not cross a network in clear.
  if (!loopback_host(host) && !tls() && !config_.behind_tls_proxy)
    return Error{host + ": serving beyond loopback needs TLS: set tls_cert_file and tls_key_file, or behind_tls_proxy when a proxy "
                        "such as deploy/nginx adds it (docs/security.md)"};
  auto bound = http_->listen(host, port);
  if (!bound) return bound.error();
  port_ = *bound;
  analyzer_->start();
  {
    std::lock_guard lock(cameras_mutex_);
    for (auto& [name, camera] : cameras_) start_camera(*camera);
    cameras_started_ = true;
  }
  maintenance_thread_ = std::thread([this] { maintenance_loop(); });
  search_thread_ = std::thread([this] { search_loop(); });
  feed_thread_ = std::thread([this] { alert_feed_loop(); });
  if (cluster()) {
    watchlist_listen_thread_ = std::thread([this] { cluster_listen_loop(); });
    lease_thread_ = std::thread([this] { lease_loop(); });
  }
  // Ready before the first request is answered: the port accepts connections from listen() on,
  // and a request that reached it then must not be told "starting" once everything has started
  // (seen under ThreadSanitizer, which widens the gap).
  ready_ = true;
  http_->start();
  return ok_status();
}

void LiveService::stop() {
  if (!ready_.exchange(false)) return;
  {
    std::lock_guard changes(camera_changes_mutex_);  // no camera is being replaced meanwhile
    for (const auto& camera : camera_snapshot()) {
      camera->ingest->stop();  // no new frames
      if (camera->recorder) camera->recorder->stop();
    }
    std::lock_guard lock(cameras_mutex_);
    cameras_started_ = false;
  }
  analyzer_->stop();  // frames in analysis finish; their alerts are stored
  // Alerts waiting for a disk that failed them get one more try; those still refused are
  // reported, since memory is all that holds them.
  sink_->store_waiting();
  if (const auto left = sink_->waiting(); left > 0)
    std::fprintf(stderr, "glassbox: %zu alerts could not be stored before the service stopped (%s)\n", left, sink_->last_error().c_str());
  flush_analysis_counts();
  {
    std::lock_guard lock(maintenance_mutex_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  if (watchlist_listen_thread_.joinable()) watchlist_listen_thread_.join();  // it waits at most 0.5 s
  if (lease_thread_.joinable()) {
    lease_thread_.join();
    // A clean stop gives the cameras back now, so other nodes take them at their next renewal.
    (void)leases_->leave();
  }
  cancel_running_search_ = true;  // a search running now ends as cancelled
  stop_search_parts_ = true;      // parts of other nodes' searches go back, for others to take
  searches_wake_.notify_all();
  if (search_thread_.joinable()) search_thread_.join();
  http_->stop();
  {
    std::lock_guard lock(feed_mutex_);
    feed_stopping_ = true;
  }
  feed_wake_.notify_all();
  if (feed_thread_.joinable()) feed_thread_.join();
  for (auto& hook : webhooks_) hook->stop();
  if (mqtt_) mqtt_->stop();
}

std::string LiveService::metrics_text() const {
  std::ostringstream m;
  const auto cameras = camera_snapshot();
  auto family = [&](const char* name, const char* type, const char* help) {
    m << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  struct Row {
    const char* name;
    const char* help;
    std::function<double(const Camera&, const LiveCameraStats&, const CameraStatus&)> value;
    const char* type = "counter";
  };
  const std::vector<Row> rows = {
      {"glassbox_frames_decoded_total", "Frames read from the camera", [](auto&, auto&, auto& s) { return double(s.frames_decoded); }},
      {"glassbox_frames_queued_total", "Frames handed to analysis", [](auto&, auto&, auto& s) { return double(s.frames_queued); }},
      {"glassbox_frames_dropped_total", "Frames dropped because analysis fell behind (oldest first)",
       [](const Camera& c, auto&, auto&) { return double(c.queue->dropped()); }},
      {"glassbox_frames_waiting", "Decoded frames waiting for analysis now (at most queue_frames; a full queue drops its oldest)",
       [](const Camera& c, auto&, auto&) { return double(c.queue->size()); }, "gauge"},
      {"glassbox_frames_analysed_total", "Frames analysed", [](auto&, auto& a, auto&) { return double(a.frames_analysed); }},
      {"glassbox_faces_detected_total", "Faces at or above the minimum size", [](auto&, auto& a, auto&) { return double(a.faces_detected); }},
      {"glassbox_faces_embedded_total", "Face views embedded", [](auto&, auto& a, auto&) { return double(a.faces_embedded); }},
      {"glassbox_tracks_total", "Face tracks started", [](auto&, auto& a, auto&) { return double(a.tracks); }},
      {"glassbox_alerts_total", "Alerts raised", [](auto&, auto& a, auto&) { return double(a.alerts); }},
      {"glassbox_camera_reconnects_total", "Successful reconnections", [](auto&, auto&, auto& s) { return double(s.reconnects); }},
      {"glassbox_camera_failures_total", "Failed opens, errors, stalls and unexpected ends", [](auto&, auto&, auto& s) { return double(s.failures); }},
      {"glassbox_analysis_latency_seconds_sum", "Capture to end of analysis, summed", [](auto&, auto& a, auto&) { return a.latency_sum_s; }},
      {"glassbox_camera_streaming", "1 while the camera delivers frames",
       [](auto&, auto&, auto& s) { return s.state == CameraState::kStreaming ? 1.0 : 0.0; }, "gauge"},
  };
  for (const Row& row : rows) {
    family(row.name, row.type, row.help);
    for (const auto& c : cameras) {
      const LiveCameraStats stats = analyzer_->camera_stats(c->analysis).value_or(LiveCameraStats{});
      m << row.name << "{camera=\"" << c->config.name << "\"} " << row.value(*c, stats, c->ingest->status()) << "\n";
    }
  }
  const auto& latencies = analyzer_->latencies();
  family("glassbox_stage_latency_seconds", "histogram",
         "Per stage: queued (capture to analysis start), detect, embed (align, embed, match), total (capture to end of analysis)");
  latencies.queued.write(m, "glassbox_stage_latency_seconds", "stage=\"queued\"");
  latencies.detect.write(m, "glassbox_stage_latency_seconds", "stage=\"detect\"");
  latencies.embed.write(m, "glassbox_stage_latency_seconds", "stage=\"embed\"");
  latencies.total.write(m, "glassbox_stage_latency_seconds", "stage=\"total\"");
  family("glassbox_watchlist_entries", "gauge", "Entries that can match now");
  m << "glassbox_watchlist_entries " << watchlist_entries_.load() << "\n";
  {
    const ThresholdInForce in_force = threshold_in_force();
    family("glassbox_match_threshold", "gauge", "The decision threshold in force, in the profile's metric; basis: target_fpir, fixed or profile_default");
    m << "glassbox_match_threshold{basis=\"" << in_force.basis << "\",metric=\"" << metric_name(profile_.metric) << "\"} " << in_force.threshold << "\n";
    family("glassbox_match_list_templates", "gauge", "Templates in the active list the threshold was set for");
    m << "glassbox_match_list_templates " << in_force.templates << "\n";
    if (in_force.target_fpir) {
      family("glassbox_match_target_fpir", "gauge", "The false-alert rate per search the deployment accepts");
      m << "glassbox_match_target_fpir " << *in_force.target_fpir << "\n";
    }
    if (in_force.estimated_fpir) {
      family("glassbox_match_estimated_fpir", "gauge", "The false-alert rate per search the calibration predicts at the threshold for this list");
      m << "glassbox_match_estimated_fpir " << *in_force.estimated_fpir << "\n";
    }
    family("glassbox_match_threshold_at_calibration_limit", "gauge", "1 when the target needs a rate below what the calibration measured");
    m << "glassbox_match_threshold_at_calibration_limit " << (in_force.at_calibration_limit ? 1 : 0) << "\n";
  }
  if (cluster()) {
    family("glassbox_cluster_lease_epoch", "gauge", "This node's lease epoch (rises each time it comes back after its lease lapsed)");
    m << "glassbox_cluster_lease_epoch " << lease_epoch_.load() << "\n";
    {
      std::lock_guard lock(cameras_mutex_);
      family("glassbox_cluster_cameras_held", "gauge", "Leased cameras running on this node");
      m << "glassbox_cluster_cameras_held " << leased_running_.size() << "\n";
    }
    family("glassbox_cluster_lease_renewals_total", "counter", "Lease renewals");
    m << "glassbox_cluster_lease_renewals_total " << lease_renewals_.load() << "\n";
    family("glassbox_cluster_lease_failures_total", "counter", "Lease renewals that failed (the database could not be reached or refused)");
    m << "glassbox_cluster_lease_failures_total " << lease_failures_.load() << "\n";
    family("glassbox_cluster_lease_lapses_total", "counter", "Times this node found its lease lapsed and came back under a new epoch");
    m << "glassbox_cluster_lease_lapses_total " << lease_lapses_.load() << "\n";
    family("glassbox_cluster_cameras_taken_total", "counter", "Cameras this node took (free, or from a node whose lease lapsed)");
    m << "glassbox_cluster_cameras_taken_total " << cameras_taken_.load() << "\n";
    family("glassbox_cluster_cameras_given_back_total", "counter", "Cameras this node gave back (over its share, or disabled)");
    m << "glassbox_cluster_cameras_given_back_total " << cameras_given_back_.load() << "\n";
    family("glassbox_database_reconnects_total", "counter", "Connections to PostgreSQL made again after they were lost (a restart, a primary switch)");
    m << "glassbox_database_reconnects_total " << PostgresDatabase::reconnects_total() << "\n";
    family("glassbox_fenced_writes_total", "counter", "Alerts refused because this node's lease on the camera had passed");
    m << "glassbox_fenced_writes_total " << sink_->fenced() << "\n";
    family("glassbox_fenced_segments_total", "counter", "Recording segments not written because this node's lease on the camera had passed");
    m << "glassbox_fenced_segments_total " << fenced_segments_.load() << "\n";
  }
  family("glassbox_watchlist_reloads_total", "counter", "Times the watchlist was loaded again (periodically, or announced by a change)");
  m << "glassbox_watchlist_reloads_total " << watchlist_reloads_.load() << "\n";
  family("glassbox_watchlist_notifications_total", "counter", "Watchlist changes announced by the shared database (PostgreSQL)");
  m << "glassbox_watchlist_notifications_total " << watchlist_notifications_.load() << "\n";
  family("glassbox_watchlist_listen_failures_total", "counter", "Times listening for watchlist changes failed or its connection was lost");
  m << "glassbox_watchlist_listen_failures_total " << watchlist_listen_failures_.load() << "\n";
  family("glassbox_alert_store_failures_total", "counter", "Failed writes of an alert (one the disk or the connection refused waits and is written again)");
  m << "glassbox_alert_store_failures_total " << sink_->failures() << "\n";
  family("glassbox_clock_steps_total", "counter", "Steps of the wall clock seen; the service's time does not follow them until it restarts");
  m << "glassbox_clock_steps_total " << service_clock().steps() << "\n";
  family("glassbox_clock_wall_offset_seconds", "gauge", "The wall clock minus the service's time (0 unless the wall clock was stepped)");
  m << "glassbox_clock_wall_offset_seconds " << static_cast<double>(service_clock().wall_offset_ms()) / 1000.0 << "\n";
  family("glassbox_storage_refusals_total", "counter", "Requests refused with 507 because the database could not be written (disk full or failing)");
  m << "glassbox_storage_refusals_total " << storage_refusals_.load() << "\n";
  family("glassbox_alerts_waiting", "gauge", "Alerts raised but not yet stored: their writes failed, they wait in memory to be written again");
  m << "glassbox_alerts_waiting " << sink_->waiting() << "\n";
  family("glassbox_alerts_stored_late_total", "counter", "Alerts stored after waiting for the database");
  m << "glassbox_alerts_stored_late_total " << sink_->stored_late() << "\n";
  family("glassbox_alerts_dropped_total", "counter", "Alerts dropped because more than 256 waited for the database");
  m << "glassbox_alerts_dropped_total " << sink_->dropped() << "\n";
  family("glassbox_live_clients", "gauge", "Clients connected to /api/events");
  m << "glassbox_live_clients " << broadcaster_.clients() << "\n";
  family("glassbox_live_streams_behind_total", "counter", "Live streams ended because their client read too slowly (it resumes with Last-Event-ID)");
  m << "glassbox_live_streams_behind_total " << broadcaster_.overflowed() << "\n";
  family("glassbox_alert_feed_position", "gauge", "The last alert feed position this node published to its live clients");
  m << "glassbox_alert_feed_position " << broadcaster_.published() << "\n";
  family("glassbox_alert_feed_failures_total", "counter", "Times the alert feed could not be read (tried again at the next alert or second)");
  m << "glassbox_alert_feed_failures_total " << feed_failures_.load() << "\n";
  family("glassbox_alerts_suppressed_total", "counter", "Matches not alerted again: the same entry was still in view of the same camera (realert_s)");
  m << "glassbox_alerts_suppressed_total " << sink_->suppressed() << "\n";
  struct OutboxCounter {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(const AlertOutbox&)> value;
  };
  const std::vector<OutboxCounter> outbox_counters = {
      {"delivered_total", "counter", "delivered by this node", [](const AlertOutbox& o) { return double(o.delivered_count()); }},
      {"failed_attempts_total", "counter", "attempts by this node that failed", [](const AlertOutbox& o) { return double(o.failed_attempts()); }},
      {"given_up_total", "counter", "given up by this node after its last attempt", [](const AlertOutbox& o) { return double(o.given_up()); }},
      {"claims_lost_total", "counter", "finished by another node after this node's claim ran out", [](const AlertOutbox& o) { return double(o.claims_lost()); }},
      {"outbox_errors_total", "counter", "times the outbox could not be read or written", [](const AlertOutbox& o) { return double(o.errors()); }},
      {"pending", "gauge", "deliveries waiting in the outbox (every node's)", [](const AlertOutbox& o) { return double(o.pending()); }}};
  for (const OutboxCounter& c : outbox_counters) {
    if (webhooks_.empty()) break;
    const std::string name = std::string("glassbox_webhook_") + c.name;
    family(name.c_str(), c.type, (std::string("Alert deliveries per webhook: ") + c.help).c_str());
    // Labelled by position and host: a webhook's path is often its secret.
    for (std::size_t i = 0; i < webhooks_.size(); ++i) {
      const auto target = parse_http_url(webhooks_[i]->url());
      m << name << "{webhook=\"" << i << "\",host=\"" << (target ? target->host : std::string("?")) << "\"} " << c.value(webhooks_[i]->outbox()) << "\n";
    }
  }
  if (mqtt_) {
    const std::string broker = "{broker=\"" + mqtt_->config().host + ":" + std::to_string(mqtt_->config().port) + "\"} ";
    family("glassbox_mqtt_connected", "gauge", "1 while connected to the MQTT broker");
    m << "glassbox_mqtt_connected" << broker << (mqtt_->connected() ? 1 : 0) << "\n";
    const std::vector<std::pair<const char*, std::uint64_t>> mqtt_counters = {
        {"glassbox_mqtt_published_total", mqtt_->published()},
        {"glassbox_mqtt_acknowledged_total", mqtt_->acknowledged()},
        {"glassbox_mqtt_failed_attempts_total", mqtt_->failed_attempts()},
        {"glassbox_mqtt_connects_total", mqtt_->connects()},
        {"glassbox_mqtt_claims_lost_total", mqtt_->outbox().claims_lost()},
        {"glassbox_mqtt_outbox_errors_total", mqtt_->outbox().errors()}};
    for (const auto& [name, value] : mqtt_counters) {
      family(name, "counter", "Alert events to MQTT: published, acknowledged by the broker, failed connects and publishes, connections made, "
                              "deliveries another node finished after this one's claim ran out, outbox failures");
      m << name << broker << value << "\n";
    }
    family("glassbox_mqtt_pending", "gauge", "Deliveries to the MQTT broker waiting in the outbox (every node's)");
    m << "glassbox_mqtt_pending" << broker << mqtt_->outbox().pending() << "\n";
  }
  family("glassbox_audit_checkpoints_total", "counter", "Audit log heads signed by the service at its interval");
  m << "glassbox_audit_checkpoints_total " << audit_checkpoints_.load() << "\n";
  family("glassbox_alerts_purged_total", "counter", "Decided alerts deleted after their retention");
  m << "glassbox_alerts_purged_total " << alerts_purged_.load() << "\n";
  family("glassbox_evidence_purged_total", "counter", "Evidence crops deleted after their retention");
  m << "glassbox_evidence_purged_total " << evidence_purged_.load() << "\n";
  const std::vector<std::pair<const char*, std::function<double(const RecorderCounters&)>>> recorder_rows = {
      {"glassbox_recorder_segments_total", [](const RecorderCounters& r) { return double(r.segments.load()); }},
      {"glassbox_recorder_bytes_total", [](const RecorderCounters& r) { return double(r.bytes.load()); }},
      {"glassbox_recorder_reconnects_total", [](const RecorderCounters& r) { return double(r.reconnects.load()); }},
      {"glassbox_recorder_errors_total", [](const RecorderCounters& r) { return double(r.errors.load()); }},
      {"glassbox_recorder_segments_skipped_low_disk_total", [](const RecorderCounters& r) { return double(r.skipped_low_disk.load()); }}};
  for (const auto& [name, value] : recorder_rows) {
    family(name, "counter", "Recorded cameras: segments closed, bytes written, reconnects, failed opens, reads and writes, segments not started below the free-space floor");
    for (const auto& c : cameras)
      if (c->recorder) m << name << "{camera=\"" << c->config.name << "\"} " << value(c->recorder->counters()) << "\n";
  }
  family("glassbox_recording_segments_purged_total", "counter", "Recorded segments deleted after their retention");
  m << "glassbox_recording_segments_purged_total " << segments_purged_.load() << "\n";
  family("glassbox_recording_index_errors_total", "counter", "Segments that could not be written to or completed in the index");
  m << "glassbox_recording_index_errors_total " << segment_index_errors_.load() << "\n";
  family("glassbox_recording_index_waiting", "gauge", "Closed or discarded segments whose index update waits for the database to take writes");
  m << "glassbox_recording_index_waiting " << segment_updates_waiting_count_.load() << "\n";
  family("glassbox_searches_finished_total", "counter", "Runs of approved searches that ended (done, cancelled, failed, or not able to start)");
  m << "glassbox_searches_finished_total " << searches_finished_.load() << "\n";
  family("glassbox_search_parts_total", "counter", "Recordings of a cluster's searches (parts) that this node searched and stored");
  m << "glassbox_search_parts_total " << search_parts_searched_.load() << "\n";
  family("glassbox_search_part_failures_total", "counter", "Batches of search parts this node claimed but could not search or store");
  m << "glassbox_search_part_failures_total " << search_parts_failed_.load() << "\n";
  family("glassbox_alert_publish_failures_total", "counter", "Stored alerts that could not be pushed to live clients, webhooks or MQTT");
  m << "glassbox_alert_publish_failures_total " << publish_failures_.load() << "\n";
  // The HTTP layer (docs/security.md): connections, requests, refusals before any route ran.
  const http::ServerStats server = http_->stats();
  family("glassbox_http_connections", "gauge", "Open HTTP connections");
  m << "glassbox_http_connections " << server.connections_open << "\n";
  family("glassbox_http_connections_accepted_total", "counter", "HTTP connections accepted");
  m << "glassbox_http_connections_accepted_total " << server.connections_accepted << "\n";
  family("glassbox_http_requests_total", "counter", "HTTP requests answered (refusals included)");
  m << "glassbox_http_requests_total " << server.requests << "\n";
  family("glassbox_http_refused_total", "counter",
         "Requests or connections the HTTP layer refused, by reason (too large, too slow, busy, malformed, over a limit)");
  for (const auto& [reason, count] : server.refused) m << "glassbox_http_refused_total{reason=\"" << reason << "\"} " << count << "\n";
  family("glassbox_http_denied_total", "counter", "Requests denied by authentication, role, CSRF or login throttling, by status");
  for (const auto& [status, count] : security_log_.denials_by_status())
    m << "glassbox_http_denied_total{status=\"" << status << "\"} " << count << "\n";
  family("glassbox_login_throttled_total", "counter", "Login and activation attempts refused by the throttle before any password check");
  m << "glassbox_login_throttled_total " << login_throttle_.refused() << "\n";
  family("glassbox_internal_errors_total", "counter", "Requests that failed inside the service (500, with an incident number in the log)");
  m << "glassbox_internal_errors_total " << security_log_.internal_errors() << "\n";
  family("glassbox_log_lines_suppressed_total", "counter", "Log lines not written because more than 20 a second came");
  m << "glassbox_log_lines_suppressed_total " << security_log_.lines_suppressed() << "\n";
  family("glassbox_disk_free_bytes", "gauge", "Free space on the data folder's file system");
  m << "glassbox_disk_free_bytes " << free_disk_bytes() << "\n";
  family("glassbox_disk_below_floor", "gauge", "1 while free space is under min_free_disk_mb: uploads and recording are stopped");
  m << "glassbox_disk_below_floor " << (below_disk_floor() ? 1 : 0) << "\n";
  family("glassbox_ended_entries_cleared_total", "counter", "Ended watchlist entries whose templates and reference photos were deleted");
  m << "glassbox_ended_entries_cleared_total " << ended_entries_cleared_.load() << "\n";
  family("glassbox_biometrics_purge_failures_total", "counter", "Maintenance passes that could not delete ended entries' templates and photos (retried)");
  m << "glassbox_biometrics_purge_failures_total " << biometrics_purge_failures_.load() << "\n";
  family("glassbox_purge_failures_total", "counter", "Files past their retention that could not be deleted (kept indexed, retried)");
  m << "glassbox_purge_failures_total " << purge_failures_.load() << "\n";
  family("glassbox_memory_resident_bytes", "gauge", "Resident memory of the process");
  m << "glassbox_memory_resident_bytes " << resident_bytes() << "\n";
  family("glassbox_memory_returned_bytes_total", "counter",
         "Memory the allocator kept after use and the maintenance thread gave back to the system (once a minute)");
  m << "glassbox_memory_returned_bytes_total " << memory_returned_bytes_.load() << "\n";
  return m.str();
}

void LiveService::register_routes() {
  http::ServerOptions options;
  const HttpLimitsConfig& limits = config_.http;
  options.workers = limits.workers;
  options.queue = static_cast<std::size_t>(limits.queue);
  options.max_connections = static_cast<std::size_t>(limits.max_connections);
  options.max_connections_per_client = static_cast<std::size_t>(limits.max_connections_per_client);
  options.header_timeout_s = limits.header_timeout_s;
  options.body_timeout_s = limits.body_timeout_s;
  options.event_keepalive_s = limits.event_keepalive_s;
  options.trusted_proxies = config_.trusted_proxies;
  options.pools = {{kPasswordPool, {2, 16}}, {kPhotoPool, {2, 8}}, {kFilePool, {2, 8}}};
  if (!config_.tls_cert_file.empty()) options.tls = http::TlsSettings{config_.tls_cert_file, config_.tls_key_file};
  options.decorate = [this](const Request& req, Response& res) { decorate(req, res); };
  options.on_request = [this](const http::ServerOptions::Record& r) {
    const auto space = r.principal.find(' ');
    SecurityLog::Entry e{r.client, r.method, r.path, r.principal.substr(0, space),
                         space == std::string::npos ? std::string() : r.principal.substr(space + 1), r.reason, r.status, r.body_bytes, r.seconds};
    security_log_.request(e);
    if (!r.reason.empty()) security_log_.denial(e);
  };
  http_ = std::make_unique<http::HttpServer>(std::move(options));

  // Answered on the I/O thread: never waits for a worker, so it tells the truth under load.
  open_route("GET", "/health", {}, [this](Request&, Response& res) {
    reply_json(res, ready_ ? 200 : 503, {{"status", ready_ ? "ok" : "starting"}, {"cameras", camera_snapshot().size()}});
  }, /*on_io_thread=*/true);
  // The operators' console: static files from memory; the page holds no data, so no account is
  // needed to load it (every request it then makes is guarded like any other).
  auto serve_asset = [this](const std::string& name, Response& res) {
    const ConsoleAssets::Asset* asset = console_ ? console_->find(name) : nullptr;
    if (asset == nullptr) {
      if (!console_ && name == "index.html")
        return reply_error(res, 404, "this glassbox was built without the operators' console (Node.js and npm build it: docs/console.md); the API is at /api");
      return reply_error(res, 404, "no such file");
    }
    res.set_content(asset->bytes, asset->content_type);
  };
  open_route("GET", "/", {}, [serve_asset](Request&, Response& res) { serve_asset("index.html", res); }, /*on_io_thread=*/true);
  open_route("GET", "/assets/{name}", {}, [serve_asset](Request& req, Response& res) { serve_asset("assets/" + req.path_params[0], res); },
             /*on_io_thread=*/true);
  open_route("GET", "/openapi.json", {}, [](Request&, Response& res) { res.set_content(kOpenApiDocument, "application/json"); },
             /*on_io_thread=*/true);
  guarded("GET", "/metrics", {}, kAnyRole, [this](const Request&, Response& res, const Principal&) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  // Live alerts as Server-Sent Events, served without a thread per client; the stream ends with
  // the credential it was opened with (logout, revocation, disabling, expiry).
  guarded("GET", "/api/events", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    // A client that reconnects (a browser's EventSource does by itself) names the last event it
    // got: the stream begins with every alert after it, from this node or any other.
    std::optional<std::int64_t> after;
    if (const std::string last = req.header("Last-Event-ID"); !last.empty()) {
      std::int64_t parsed = -1;
      const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), parsed);
      if (ec != std::errc() || end != last.data() + last.size() || parsed < 0)
        return reply_error(res, 400, "Last-Event-ID must be the id of an event this stream sent (a number)");
      after = parsed;
    }
    auto subscribed = broadcaster_.subscribe(who.name, who.credential, who.credential_key, who.expires_at,
                                             static_cast<std::size_t>(config_.http.max_event_streams),
                                             static_cast<std::size_t>(config_.http.max_event_streams_per_user), after);
    if (!subscribed) {
      security_log_.denial({"", "GET", "/api/events", who.name, who.credential, "event_streams", 429, 0, 0.0});
      return reply_error(res, 429, "too many live event streams open (at most " + std::to_string(config_.http.max_event_streams_per_user) +
                                       " per account, " + std::to_string(config_.http.max_event_streams) + " in all)");
    }
    if (subscribed->read_before) {
      // Older than what is kept in memory: read from the database, before the stream is handed
      // to the server (nothing reads it yet), at most kAlertsKept of them; a client further
      // behind is told where its stream resumes, and lists the rest through /api/alerts.
      const std::int64_t before = *subscribed->read_before;
      Result<std::vector<AlertRecord>> older = Error{"not read"};
      {
        std::lock_guard lock(store_mutex_);
        older = alert_store_->feed(std::max(*after, before - 1 - static_cast<std::int64_t>(kAlertsKept)), kAlertsKept);
      }
      if (!older) {
        broadcaster_.unsubscribe(subscribed->subscription);
        return reply_internal(res, "reading the alerts after a client's last event", older.error());
      }
      std::vector<std::string> events;
      if (before - 1 - *after > static_cast<std::int64_t>(kAlertsKept))
        events.push_back("event: gap\ndata: " +
                         to_json_text(json{{"after", *after}, {"resumes_after", before - 1 - static_cast<std::int64_t>(kAlertsKept)}}) + "\n\n");
      for (const AlertRecord& r : *older)
        if (r.feed_position < before) events.push_back(sse_alert_event(r.feed_position, to_json_text(alert_event(r))));
      subscribed->subscription->prepend(std::move(events));
    }
    res.set_header("Content-Type", "text/event-stream");
    res.stream = std::make_shared<AlertEventStream>(broadcaster_, subscribed->subscription);
  });
  // The recognizer profile in use and what its threshold means, for the people reading scores.
  guarded("GET", "/api/profile", {}, kAnyRole, [this](const Request&, Response& res, const Principal&) {
    const ThresholdInForce in_force = threshold_in_force();
    json j = {{"name", profile_.name}, {"metric", metric_name(profile_.metric)}, {"threshold", in_force.threshold},
              {"threshold_source", profile_.threshold_source}, {"threshold_in_force", in_force.to_json()}};
    if (calibration_)
      j["calibration"] = {{"source", calibration_->source()}, {"comparisons", calibration_->comparisons()},
                          {"list_size_exponent", calibration_->list_size_exponent()}, {"lowest_rate", calibration_->lowest_rate()},
                          {"strictest_score", calibration_->points().front().score}};
    reply_json(res, 200, j);
  });
  register_account_routes();
  register_camera_routes();
  register_entry_routes();
  register_search_routes();
  // The cluster's nodes, leases and cameras (docs/cluster.md), for the people who run it and
  // those who audit it; {"cluster": false} on one machine.
  guarded("GET", "/api/cluster", {}, {Role::kAdmin, Role::kAuditor}, [this](const Request&, Response& res, const Principal&) {
    std::lock_guard lock(service_db_mutex_);
    auto status = cluster_status(*service_db_);
    if (!status) return reply_internal(res, "reading the cluster's state", status.error());
    if (cluster()) (*status)["this_node"] = leases_->settings().node;
    reply_json(res, 200, *status);
  });
  guarded("GET", "/api/transparency", {}, kAnyRole, [this](const Request& req, Response& res, const Principal&) {
    const UnixSeconds now = now_utc();
    const std::string today = format_date_utc(now);
    auto from = parse_date_utc(req.has_param("from") ? req.param("from") : today.substr(0, 8) + "01");
    if (!from) return reply_error(res, 400, "from: " + from.error().message);
    auto to = req.has_param("to") ? parse_date_utc(req.param("to")) : Result<UnixSeconds>(*parse_date_utc(today) + 86400);
    if (!to) return reply_error(res, 400, "to: " + to.error().message);
    flush_analysis_counts();  // up to the moment
    std::lock_guard lock(service_db_mutex_);
    auto report = transparency_report(*service_db_, config_.deployment, {*from, *to}, now);
    if (!report) return reply_error(res, 400, report.error().message);
    reply_json(res, 200, *report);
  });
  guarded("GET", "/api/alerts", {}, kReviewers, [this](const Request& req, Response& res, const Principal&) {
    AlertFilter filter;
    try {
      if (req.has_param("status")) {
        const std::string s = req.param("status");
        if (s != "open" && s != "confirmed" && s != "dismissed") return reply_error(res, 400, "status must be open, confirmed or dismissed");
        filter.status = s == "open" ? AlertStatus::kOpen : (s == "confirmed" ? AlertStatus::kConfirmed : AlertStatus::kDismissed);
      }
      if (req.has_param("camera")) filter.camera = req.param("camera");
      if (req.has_param("entry")) filter.entry_id = std::stoll(req.param("entry"));
      if (req.has_param("since")) filter.since = std::stoll(req.param("since"));
      if (req.has_param("limit")) filter.limit = std::stoi(req.param("limit"));
    } catch (const std::exception&) {
      return reply_error(res, 400, "entry, since and limit must be integers");
    }
    Result<std::vector<AlertRecord>> list = std::vector<AlertRecord>{};
    {
      std::lock_guard lock(store_mutex_);
      list = alert_store_->list(filter);
    }
    if (!list) return reply_internal(res, "listing alerts", list.error());
    json out = json::array();
    for (const auto& r : *list) out.push_back(alert_record_json(r));
    reply_json(res, 200, out);
  });
  guarded("GET", "/api/alerts/{int}", {}, kReviewers, [this](const Request& req, Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such alert");
    std::lock_guard lock(store_mutex_);
    auto r = alert_store_->get(*id);
    if (!r) return reply_internal(res, "reading an alert", r.error());
    if (!r->has_value()) return reply_error(res, 404, "no such alert");
    reply_json(res, 200, alert_record_json(**r));
  });
  // A face crop: every view is audited (who saw which alert's evidence), or it is not shown.
  guarded("GET", "/api/alerts/{int}/evidence", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no evidence for this alert (unknown, or purged after its retention)");
    Result<std::optional<std::vector<unsigned char>>> jpeg = std::optional<std::vector<unsigned char>>{};
    {
      std::lock_guard lock(store_mutex_);
      jpeg = alert_store_->evidence(*id);
    }
    if (!jpeg) return reply_internal(res, "reading evidence", jpeg.error());
    if (!jpeg->has_value()) return reply_error(res, 404, "no evidence for this alert (unknown, or purged after its retention)");
    if (!audit_read(who, "evidence.view", "alert/" + std::to_string(*id), json::object(), res)) return;
    res.set_content(std::string((*jpeg)->begin(), (*jpeg)->end()), "image/jpeg");
  });
  auto decision = [this](bool confirm) {
    return [this, confirm](const Request& req, Response& res, const Principal& who) {
      // The person deciding is the one logged in; the body carries only a dismissal's reason.
      auto body = parse_json_object(req, /*empty_ok=*/true);
      if (!body) return reply_error(res, 400, body.error().message);
      auto reason = string_member(*body, "reason", false, 2000);
      if (!reason) return reply_error(res, 400, reason.error().message);
      const auto parsed_id = path_id(req);
      if (!parsed_id) return reply_error(res, 404, "alert does not exist");
      const std::int64_t id = *parsed_id;
      std::lock_guard lock(store_mutex_);
      auto s = confirm ? alert_store_->confirm(id, who.name, now_utc()) : alert_store_->dismiss(id, who.name, reason->value_or(""), now_utc());
      if (!s) {
        const std::string& m = s.error().message;
        if (is_storage_fault(m)) return reply_internal(res, "deciding an alert", s.error());
        if (m.find("does not exist") != std::string::npos) return reply_error(res, 404, m);
        if (m.find("needs a reason") != std::string::npos || m.find("reason") != std::string::npos) return reply_error(res, 400, m);
        if (m.find("was already") != std::string::npos) return reply_error(res, 409, m);
        return reply_internal(res, "deciding an alert", s.error());
      }
      auto r = alert_store_->get(id);
      if (!r || !r->has_value()) return reply_internal(res, "reading a decided alert back", r ? Error{"gone"} : r.error());
      reply_json(res, 200, alert_record_json(**r));
    };
  };
  guarded("POST", "/api/alerts/{int}/confirm", {BodyKind::kJson, kSmallJson}, kReviewers, decision(true));
  guarded("POST", "/api/alerts/{int}/dismiss", {BodyKind::kJson, kSmallJson}, kReviewers, decision(false));
}

void LiveService::register_camera_routes() {
  auto camera_json = [this](const Camera& c) {
    const CameraStatus s = c.ingest->status();
    const LiveCameraStats a = analyzer_->camera_stats(c.analysis).value_or(LiveCameraStats{});
    json j = camera_to_json(c.config);
    j["managed_by"] = c.from_config_file ? "config" : "api";
    j["state"] = camera_state_name(s.state);
    // Libraries' messages repeat the URL they failed on: shown without its credentials.
    j["last_error"] = with_url_redacted(s.last_error, c.config.url);
    j["frames_decoded"] = s.frames_decoded;
    j["frames_analysed"] = a.frames_analysed;
    j["frames_dropped"] = c.queue->dropped();
    j["frames_waiting"] = c.queue->size();
    j["reconnects"] = s.reconnects;
    j["alerts"] = a.alerts;
    return j;
  };
  guarded("GET", "/api/cameras", {}, kCameraReaders, [this, camera_json](const Request&, Response& res, const Principal&) {
    json list = json::array();
    for (const auto& c : camera_snapshot()) list.push_back(camera_json(*c));
    reply_json(res, 200, list);
  });
  guarded("GET", "/api/cameras/{name}", {}, kCameraReaders, [this, camera_json](const Request& req, Response& res, const Principal&) {
    const auto camera = find_camera(req.path_params[0]);
    if (!camera) return reply_error(res, 404, "no camera named '" + req.path_params[0] + "'");
    reply_json(res, 200, camera_json(*camera));
  });
  // What the camera sees now, for the administrator aiming it: the next frame it admits, as a
  // JPEG at most 1280 px wide. Nothing is stored; the view itself is on the record, since the
  // picture shows whoever is in front of the camera.
  guarded("GET", "/api/cameras/{name}/snapshot", {}, kAdmins, [this](const Request& req, Response& res, const Principal& who) {
    const auto camera = find_camera(req.path_params[0]);
    if (!camera) return reply_error(res, 404, "no camera named '" + req.path_params[0] + "'");
    auto frame = camera->ingest->next_frame(std::chrono::seconds(5));
    if (!frame) return reply_error(res, 503, frame.error().message);
    cv::Mat picture = frame->bgr();
    if (picture.cols > 1280) {
      cv::Mat smaller;
      cv::resize(picture, smaller, cv::Size(1280, picture.rows * 1280 / picture.cols), 0, 0, cv::INTER_AREA);
      picture = smaller;
    }
    std::vector<unsigned char> jpeg;
    if (!cv::imencode(".jpg", picture, jpeg, {cv::IMWRITE_JPEG_QUALITY, 85}))
      return reply_internal(res, "encoding a snapshot", Error{"cv::imencode failed on camera " + camera->config.name});
    if (!audit_read(who, "camera.snapshot", "camera/" + camera->config.name, {{"width", picture.cols}, {"height", picture.rows}}, res)) return;
    res.set_content(std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
  }, kFilePool);
  // In a cluster: a camera of the API as stored (whichever node runs it); file cameras of this
  // node are refused with the reason.
  auto stored_api_camera = [this](const std::string& name, Response& res) -> std::optional<CameraConfig> {
    if (auto local = find_camera(name); local && local->from_config_file) {
      reply_error(res, 409, "camera '" + name + "' is defined in the configuration file; change it there and restart");
      return std::nullopt;
    }
    auto listed = camera_store_->list();
    if (!listed) {
      reply_internal(res, "reading the cameras", listed.error());
      return std::nullopt;
    }
    for (const CameraConfig& c : *listed)
      if (c.name == name) return c;
    reply_error(res, 404, "no camera named '" + name + "'");
    return std::nullopt;
  };
  // A camera of the API in a cluster, as stored, before a node runs it.
  auto unassigned_json = [](const CameraConfig& c) {
    json j = camera_to_json(c);
    j["managed_by"] = "api";
    j["state"] = "assigning";
    return j;
  };
  guarded("POST", "/api/cameras", {BodyKind::kJson, kCameraJson}, kAdmins, [this, camera_json, unassigned_json](const Request& req, Response& res, const Principal& who) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto config = parse_camera_json(*body, "camera", CameraConfig{});
    if (!config) return reply_error(res, 400, config.error().message);
    if (auto s = check_api_camera_url(config->url); !s) return reply_error(res, 400, s.error().message);
    std::lock_guard changes(camera_changes_mutex_);
    if (find_camera(config->name)) return reply_error(res, 409, "camera '" + config->name + "' exists already");
    if (auto s = camera_store_->insert(*config, who.name, now_utc()); !s) return reply_refusal(res, s.error());
    if (cluster()) return reply_json(res, 201, unassigned_json(*config));  // a node takes it at its next renewal
    auto camera = make_camera(*config, false);
    {
      std::lock_guard lock(cameras_mutex_);
      if (cameras_started_) start_camera(*camera);
      cameras_[config->name] = camera;
    }
    reply_json(res, 201, camera_json(*camera));
  });
  // Changes or removal of a camera through the API; file cameras are refused with the reason.
  auto api_camera = [this](const std::string& name, Response& res) -> std::shared_ptr<Camera> {
    auto camera = find_camera(name);
    if (!camera) {
      reply_error(res, 404, "no camera named '" + name + "'");
    } else if (camera->from_config_file) {
      reply_error(res, 409, "camera '" + name + "' is defined in the configuration file; change it there and restart");
      return nullptr;
    }
    return camera;
  };
  guarded("PATCH", "/api/cameras/{name}", {BodyKind::kJson, kCameraJson}, kAdmins,
          [this, camera_json, api_camera, stored_api_camera, unassigned_json](const Request& req, Response& res, const Principal& who) {
            auto body = parse_json_object(req);
            if (!body) return reply_error(res, 400, body.error().message);
            std::lock_guard changes(camera_changes_mutex_);
            if (cluster()) {
              // The stored settings change; the node that holds the camera restarts it at its next renewal.
              auto stored = stored_api_camera(req.path_params[0], res);
              if (!stored) return;
              auto config = parse_camera_json(*body, "camera", *stored, /*allow_name=*/false);
              if (!config) return reply_error(res, 400, config.error().message);
              if (config->url != stored->url)
                if (auto s = check_api_camera_url(config->url); !s) return reply_error(res, 400, s.error().message);
              if (auto s = camera_store_->update(*config, who.name, now_utc()); !s)
                return reply_refusal(res, s.error());
              return reply_json(res, 200, unassigned_json(*config));
            }
            auto old = api_camera(req.path_params[0], res);
            if (!old) return;
            auto config = parse_camera_json(*body, "camera", old->config, /*allow_name=*/false);
            if (!config) return reply_error(res, 400, config.error().message);
            if (config->url != old->config.url)
              if (auto s = check_api_camera_url(config->url); !s) return reply_error(res, 400, s.error().message);
            if (auto s = camera_store_->update(*config, who.name, now_utc()); !s)
              return reply_refusal(res, s.error());
            // A changed camera starts afresh: new source, new tracks, counters from zero.
            retire_camera(*old);
            auto camera = make_camera(*config, false);
            {
              std::lock_guard lock(cameras_mutex_);
              if (cameras_started_) start_camera(*camera);
              cameras_[config->name] = camera;
            }
            reply_json(res, 200, camera_json(*camera));
          });
  guarded("DELETE", "/api/cameras/{name}", {}, kAdmins, [this, api_camera, stored_api_camera](const Request& req, Response& res, const Principal& who) {
    std::lock_guard changes(camera_changes_mutex_);
    if (cluster()) {
      // Its lease goes with it; the node that ran it stops it at its next renewal.
      if (!stored_api_camera(req.path_params[0], res)) return;
      if (auto s = camera_store_->remove(req.path_params[0], who.name, now_utc()); !s)
        return reply_refusal(res, s.error());
      res.status = 204;
      return;
    }
    auto camera = api_camera(req.path_params[0], res);
    if (!camera) return;
    if (auto s = camera_store_->remove(camera->config.name, who.name, now_utc()); !s)
      return reply_refusal(res, s.error());
    {
      std::lock_guard lock(cameras_mutex_);
      cameras_.erase(camera->config.name);
    }
    retire_camera(*camera);
    res.status = 204;
  });
}

void LiveService::register_entry_routes() {
  // The watchlist's entries: who reads them is recorded (entry.list, entry.view).
  guarded("GET", "/api/entries", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    std::optional<std::string> status;
    if (req.has_param("status")) {
      status = req.param("status");
      if (*status != "pending" && *status != "active" && *status != "revoked")
        return reply_error(res, 400, "status must be pending, active or revoked");
    }
    Result<std::vector<EntryRecord>> entries = std::vector<EntryRecord>{};
    {
      std::lock_guard lock(entries_mutex_);
      entries = entry_store_->list_entries();
    }
    if (!entries) return reply_internal(res, "listing entries", entries.error());
    const UnixSeconds now = now_utc();
    json list = json::array();
    for (const EntryRecord& e : *entries)
      if (!status || *status == entry_status_name(e.status)) list.push_back(entry_to_json(e, now));
    if (!audit_read(who, "entry.list", "entries", {{"status", status.value_or("any")}, {"count", list.size()}}, res)) return;
    reply_json(res, 200, list);
  });
  guarded("GET", "/api/entries/{int}", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such entry");
    Result<std::optional<EntryRecord>> entry = std::optional<EntryRecord>{};
    {
      std::lock_guard lock(entries_mutex_);
      entry = entry_store_->get_entry(*id);
    }
    if (!entry) return reply_internal(res, "reading an entry", entry.error());
    if (!entry->has_value()) return reply_error(res, 404, "no such entry");
    if (!audit_read(who, "entry.view", "entry/" + std::to_string(*id), json::object(), res)) return;
    reply_json(res, 200, entry_to_json(**entry, now_utc()));
  });
  // A kept reference photo, for comparing an alert's crop by eye: every view is audited.
  guarded("GET", "/api/entries/{int}/photos/{int}", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req, 0);
    const auto position = path_id(req, 1);
    if (!id || !position || *position > 1000) return reply_error(res, 404, "no such photo");
    Result<std::optional<std::vector<unsigned char>>> jpeg = std::optional<std::vector<unsigned char>>{};
    {
      std::lock_guard lock(entries_mutex_);
      jpeg = entry_store_->reference_photo(*id, static_cast<int>(*position));
    }
    if (!jpeg) return reply_internal(res, "opening a reference photo", jpeg.error());
    if (!jpeg->has_value()) return reply_error(res, 404, "no such photo (unknown, or deleted after the entry ended)");
    if (!audit_read(who, "entry.photo.view", "entry/" + std::to_string(*id), {{"photo", *position}}, res)) return;
    res.set_content(std::string((*jpeg)->begin(), (*jpeg)->end()), "image/jpeg");
  });
  // Enrolment: multipart/form-data with the entry's fields and one to ten `photo` files. The
  // photos are checked and decoded in memory; their templates, names, hashes and a re-encoded
  // copy for review (sealed) are stored.
  guarded("POST", "/api/entries", {BodyKind::kForm, kPhotoForm}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    if (req.form.empty())
      return reply_error(res, 415, "send the entry as multipart/form-data: fields subject, legal_basis, source, expires "
                                   "and one or more files named photo");
    // The submitter is the one logged in.
    if (req.has_field("submitted_by") && req.field("submitted_by") != who.name)
      return reply_error(res, 400, "submitted_by: entries are submitted by the user logged in (" + who.name + ")");
    EnrollmentFields fields{req.field("subject"), req.field("legal_basis"), req.field("source"), req.field("expires"), who.name, {}};
    fields.scope = comma_list(req.field("scope"));  // absent or empty: all cameras
    const std::vector<PhotoUpload> photos = uploaded_photos(req, "photo");
    const UnixSeconds now = now_utc();
    auto checked = validate_entry_fields(fields, now, FieldNames::kJson);
    if (!checked) return reply_error(res, 400, checked.error().message);
    // Retention: an entry may not be kept matching for longer than the deployment allows.
    if (checked->expires_at > now + static_cast<UnixSeconds>(config_.entry_max_days) * 86400)
      return reply_error(res, 400, "entry refused:\n  - expires: at most " + std::to_string(config_.entry_max_days) +
                                       " days ahead (entry_max_days); approve a new entry when this one expires");
    if (photos.empty()) return reply_error(res, 400, "entry refused: at least one photo is required");
    if (photos.size() > kMaxPhotos) return reply_error(res, 400, "entry refused: at most " + std::to_string(kMaxPhotos) + " photos per entry");
    auto templates = photo_templates(photos);  // on the photo pool: two requests at a time
    if (!templates) {
      const std::string& m = templates.error().message;
      if (m.find("refused") != std::string::npos) return reply_error(res, 400, "entry " + m);
      return reply_internal(res, "enrolment", templates.error());
    }
    std::lock_guard lock(entries_mutex_);
    auto id = entry_store_->add_pending_entry(*checked, *templates, now);
    if (!id) return reply_internal(res, "storing an entry", id.error());
    auto entry = entry_store_->get_entry(*id);
    if (!entry || !entry->has_value()) return reply_internal(res, "reading an entry back", entry ? Error{"gone"} : entry.error());
    reply_json(res, 201, entry_to_json(**entry, now));
  }, kPhotoPool);
  // Approval and revocation take effect at once: the watchlist is reloaded before answering.
  auto change = [this](bool approve) {
    return [this, approve](const Request& req, Response& res, const Principal& who) {
      auto body = parse_json_object(req, /*empty_ok=*/true);
      if (!body) return reply_error(res, 400, body.error().message);
      auto reason = string_member(*body, "reason", false, 2000);
      if (!reason) return reply_error(res, 400, reason.error().message);
      const auto parsed_id = path_id(req);
      if (!parsed_id) return reply_error(res, 404, "entry does not exist");
      const std::int64_t id = *parsed_id;
      const UnixSeconds now = now_utc();
      std::lock_guard lock(entries_mutex_);
      auto s = approve ? entry_store_->approve_entry(id, who.name, now) : entry_store_->revoke_entry(id, who.name, reason->value_or(""), now);
      if (!s) return reply_refusal(res, s.error());
      if (auto reloaded = reload_watchlist(); !reloaded)
        return reply_internal(res, "stored, but reloading the running watchlist (retried every few seconds)", reloaded.error());
      auto entry = entry_store_->get_entry(id);
      if (!entry || !entry->has_value()) return reply_internal(res, "reading an entry back", entry ? Error{"gone"} : entry.error());
      reply_json(res, 200, entry_to_json(**entry, now));
    };
  };
  guarded("POST", "/api/entries/{int}/approve", {BodyKind::kJson, kSmallJson}, kSupervisors, change(true));
  guarded("POST", "/api/entries/{int}/revoke", {BodyKind::kJson, kSmallJson}, kSupervisors, change(false));
}

}  // namespace glassbox
