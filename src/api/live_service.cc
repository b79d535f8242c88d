#include "api/live_service.h"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <sstream>

#include <nlohmann/json.hpp>

#include "alert/json_lines.h"
#include "api/http_util.h"
#include "api/openapi_document.h"
#include "audit/audit_log.h"
#include "store/sqlite_statement.h"
#include "store/transparency.h"
#include "enroll/enrollment.h"
#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "ingest/video_source.h"
#include "pipeline/recognizers.h"
#include "pipeline/watchlist_loader.h"
#include "store/search_store.h"

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
  return j;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  std::size_t at = 0;
  while (at < header.size()) {
    const auto end = header.find(';', at);
    std::string part = header.substr(at, end == std::string::npos ? std::string::npos : end - at);
    const auto first = part.find_first_not_of(' ');
    if (first != std::string::npos) part = part.substr(first);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<LiveService>> LiveService::create(const std::string& data_dir, ServiceConfig config) {
  std::unique_ptr<LiveService> service(new LiveService());
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Error{data_dir + ": cannot create the data folder: " + ec.message()};
  service->data_dir_ = data_dir;
  service->db_path_ = (std::filesystem::path(data_dir) / "glassbox.db").string();
  service->config_ = std::move(config);
  // Absolute, so the segment index stays right whatever the working folder of a later reader.
  service->recordings_dir_ = std::filesystem::absolute(service->config_.recordings_dir.empty()
                                                           ? std::filesystem::path(data_dir) / "recordings"
                                                           : std::filesystem::path(service->config_.recordings_dir));
  auto profile = load_model_profile(service->config_.profile);
  if (!profile) return profile.error();
  service->profile_ = *profile;
  auto store = SqliteAlertStore::open(service->db_path_);
  if (!store) return store.error();
  service->alert_store_ = std::move(*store);
  service->sink_ = std::make_unique<StoringAlertSink>(*service->alert_store_, service->store_mutex_,
                                                      service->config_.evidence_retention_days);
  for (const WebhookConfig& hook : service->config_.webhooks) service->webhooks_.push_back(std::make_unique<WebhookSender>(hook));
  if (service->config_.mqtt) service->mqtt_ = std::make_unique<MqttPublisher>(*service->config_.mqtt);
  LiveService* self = service.get();
  service->sink_->on_stored([self](std::int64_t id, const Alert& alert) {
    json event = alert_to_json(alert);
    event["id"] = id;
    event["camera"] = alert.source;
    event["status"] = "open";
    const std::string text = event.dump();
    self->broadcaster_.publish(text);
    for (auto& hook : self->webhooks_) hook->deliver(text);
    if (self->mqtt_) self->mqtt_->deliver(alert.source, text);
  });
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
  auto camera_store = SqliteCameraStore::open(service->db_path_);
  if (!camera_store) return camera_store.error();
  service->camera_store_ = std::move(*camera_store);
  auto entry_store = SqliteWatchlistStore::open(service->db_path_, OpenMode::kReadWriteCreate);
  if (!entry_store) return entry_store.error();
  service->entry_store_ = std::move(*entry_store);
  // Starting with a configuration is a configuration change: audited, or no start.
  {
    auto db = SqliteDatabase::open(service->db_path_, OpenMode::kReadWriteCreate);
    if (!db) return db.error();
    service->service_db_ = std::move(*db);
    SqliteDatabase& database = *service->service_db_;
    json cameras = json::array(), hooks = json::array();
    for (const CameraConfig& c : service->config_.cameras) cameras.push_back(camera_to_json(c));
    for (const WebhookConfig& w : service->config_.webhooks) hooks.push_back(w.url);
    json details = {{"profile", service->config_.profile},
                    {"workers", service->config_.workers},
                    {"detect_size", service->config_.detect_size},
                    {"evidence_retention_days", service->config_.evidence_retention_days},
                    {"cameras", cameras},
                    {"webhooks", hooks}};
    if (service->config_.mqtt) details["mqtt"] = service->config_.mqtt->host + ":" + std::to_string(service->config_.mqtt->port);
    if (auto s = database.transaction([&] { return audit::append(database, {"system", "service.start", "service", details}, now_utc()); }); !s)
      return s.error().within("the service start could not be audited, so it does not start");
    if (auto s = service->recover_segments(); !s) return s.error();
    // A search that was running when the service died cannot be resumed: it has failed.
    if (auto s = fail_running_searches(database, "the service stopped while the search ran", now_utc()); !s) return s.error();
  }
  auto users = SqliteUserStore::open(service->db_path_);
  if (!users) return users.error();
  service->users_ = std::move(*users);
  auto api_cameras = service->camera_store_->list();
  if (!api_cameras) return api_cameras.error();
  for (const CameraConfig& c : service->config_.cameras) service->cameras_[c.name] = service->make_camera(c, true);
  for (const CameraConfig& c : *api_cameras) {
    if (service->cameras_.count(c.name))
      return Error{"camera '" + c.name + "' is in the configuration file and was also created through the API (kept in " +
                   service->db_path_ + "); rename it in the file"};
    service->cameras_[c.name] = service->make_camera(c, false);
  }
  service->register_routes();
  return service;
}

LiveService::~LiveService() { stop(); }

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
  analysis.threshold = profile_.threshold;
  camera->analysis = analyzer_->add_camera(c.name, *camera->queue, analysis);
  if (c.record) {
    RecorderOptions recording;
    recording.directory = recordings_dir_ / c.name;
    recording.segment_s = config_.record_segment_s;
    recording.open_timeout_s = c.stall_timeout_s;
    recording.read_timeout_s = c.stall_timeout_s;
    recording.loop = c.loop;
    recording.realtime = !looks_like_url(c.url);
    SegmentIndex index;
    index.opened = [this, name = c.name](const std::string& path, std::int64_t start_ms) -> Result<std::int64_t> {
      std::lock_guard lock(service_db_mutex_);
      auto id = add_segment(*service_db_, name, path, start_ms);
      if (!id) ++segment_index_errors_;
      return id;
    };
    index.closed = [this](std::int64_t id, std::int64_t end_ms, std::int64_t bytes) {
      std::lock_guard lock(service_db_mutex_);
      if (!complete_segment(*service_db_, id, end_ms, bytes)) ++segment_index_errors_;
    };
    camera->recorder = std::make_unique<SegmentRecorder>(c.name, c.url, recording, std::move(index));
  }
  return camera;
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
  SqliteDatabase& db = *service_db_;
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
    auto store = SqliteWatchlistStore::open(db_path_, OpenMode::kReadWriteCreate);
    if (!store) return store.error();
    reload_store_ = std::move(*store);
  }
  auto loaded = load_watchlist(*reload_store_, profile_, now_utc());
  if (!loaded) return loaded.error();
  watchlist_entries_ = loaded->matrix.entries();
  analyzer_->set_watchlist(std::make_shared<WatchlistMatrix>(std::move(loaded->matrix)));
  ++watchlist_reloads_;
  return ok_status();
}

void LiveService::maintenance_loop() {
  auto next_purge = std::chrono::steady_clock::now();
  auto next_recording_purge = std::chrono::steady_clock::now();
  auto next_checkpoint = std::chrono::steady_clock::now();
  std::int64_t checkpointed_size = 0;
  while (true) {
    {
      std::unique_lock lock(maintenance_mutex_);
      if (maintenance_wake_.wait_for(lock, std::chrono::milliseconds(static_cast<int>(config_.watchlist_reload_s * 1000)),
                                     [&] { return stopping_; }))
        return;
    }
    (void)reload_watchlist();  // on failure the previous list stays in force
    flush_analysis_counts();
    if (std::chrono::steady_clock::now() >= next_checkpoint) {
      next_checkpoint = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(config_.audit_checkpoint_interval_s * 1000));
      std::lock_guard lock(service_db_mutex_);
      std::int64_t records = 0;
      {
        SqliteStatement size(service_db_->handle(), "SELECT count(*) FROM audit_records");
        if (size.prepared() && size.step() == SQLITE_ROW) records = size.int64(0);
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
      (void)purge_uploads(*service_db_, now_utc());
    }
  }
}

Status LiveService::start(const std::string& host, int port) {
  const int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return Error{host + ":" + std::to_string(port) + ": cannot listen (address in use or not allowed)"};
  port_ = bound;
  analyzer_->start();
  {
    std::lock_guard lock(cameras_mutex_);
    for (auto& [name, camera] : cameras_) start_camera(*camera);
    cameras_started_ = true;
  }
  maintenance_thread_ = std::thread([this] { maintenance_loop(); });
  search_thread_ = std::thread([this] { search_loop(); });
  http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  ready_ = true;
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
  analyzer_->stop();                               // frames in analysis finish; their alerts are stored
  flush_analysis_counts();
  {
    std::lock_guard lock(maintenance_mutex_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  cancel_running_search_ = true;  // a search running now ends as cancelled
  searches_wake_.notify_all();
  if (search_thread_.joinable()) search_thread_.join();
  http_->stop();
  if (http_thread_.joinable()) http_thread_.join();
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
  family("glassbox_alert_store_failures_total", "counter", "Alerts that could not be stored");
  m << "glassbox_alert_store_failures_total " << sink_->failures() << "\n";
  family("glassbox_live_clients", "gauge", "Clients connected to /api/events");
  m << "glassbox_live_clients " << broadcaster_.clients() << "\n";
  family("glassbox_live_events_dropped_total", "counter", "Alert events lost by clients too slow to read them");
  m << "glassbox_live_events_dropped_total " << broadcaster_.dropped() << "\n";
  const std::vector<std::pair<const char*, std::function<std::uint64_t(const WebhookSender&)>>> hook_counters = {
      {"glassbox_webhook_delivered_total", [](const WebhookSender& w) { return w.delivered(); }},
      {"glassbox_webhook_failed_attempts_total", [](const WebhookSender& w) { return w.failed_attempts(); }},
      {"glassbox_webhook_given_up_total", [](const WebhookSender& w) { return w.given_up(); }},
      {"glassbox_webhook_dropped_total", [](const WebhookSender& w) { return w.dropped(); }}};
  for (const auto& [name, value] : hook_counters) {
    family(name, "counter", "Alert events per webhook: delivered, failed attempts, given up after retries, dropped from a full queue");
    for (const auto& hook : webhooks_) m << name << "{url=\"" << hook->url() << "\"} " << value(*hook) << "\n";
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
        {"glassbox_mqtt_dropped_total", mqtt_->dropped()}};
    for (const auto& [name, value] : mqtt_counters) {
      family(name, "counter", "Alert events to MQTT: published, acknowledged by the broker, failed connects and publishes, connections made, dropped from a full queue");
      m << name << broker << value << "\n";
    }
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
      {"glassbox_recorder_errors_total", [](const RecorderCounters& r) { return double(r.errors.load()); }}};
  for (const auto& [name, value] : recorder_rows) {
    family(name, "counter", "Recorded cameras: segments closed, bytes written, reconnects, failed opens, reads and writes");
    for (const auto& c : cameras)
      if (c->recorder) m << name << "{camera=\"" << c->config.name << "\"} " << value(c->recorder->counters()) << "\n";
  }
  family("glassbox_recording_segments_purged_total", "counter", "Recorded segments deleted after their retention");
  m << "glassbox_recording_segments_purged_total " << segments_purged_.load() << "\n";
  family("glassbox_recording_index_errors_total", "counter", "Segments that could not be written to or completed in the index");
  m << "glassbox_recording_index_errors_total " << segment_index_errors_.load() << "\n";
  family("glassbox_searches_finished_total", "counter", "Runs of approved searches that ended (done, cancelled, failed, or not able to start)");
  m << "glassbox_searches_finished_total " << searches_finished_.load() << "\n";
  return m.str();
}

void LiveService::register_routes() {
  http_ = std::make_unique<httplib::Server>();
  http_->set_payload_max_length(64u << 20);  // enrolment photos; anything larger is refused with 413
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, ready_ ? 200 : 503, {{"status", ready_ ? "ok" : "starting"}, {"cameras", camera_snapshot().size()}});
  });
  http_->Get("/metrics", guard(kAnyRole, [this](const httplib::Request&, httplib::Response& res, const Principal&) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  }));
  http_->Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) { res.set_content(kOpenApiDocument, "application/json"); });
  // Live alerts as Server-Sent Events; a comment every second keeps idle connections open and
  // notices clients that went away.
  http_->Get("/api/events", guard(kReviewers, [this](const httplib::Request&, httplib::Response& res, const Principal&) {
    auto subscription = broadcaster_.subscribe();
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, subscription](std::size_t, httplib::DataSink& sink) {
          if (!ready_) return false;
          auto event = subscription->pop(std::chrono::seconds(1));
          const std::string chunk = event ? "event: alert\ndata: " + *event + "\n\n" : ": keep-alive\n\n";
          return sink.write(chunk.data(), chunk.size());
        },
        [this, subscription](bool) { broadcaster_.unsubscribe(subscription); });
  }));
  register_account_routes();
  register_camera_routes();
  register_entry_routes();
  register_search_routes();
  http_->Get("/api/transparency", guard(kAnyRole, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const UnixSeconds now = now_utc();
    const std::string today = format_date_utc(now);
    auto from = parse_date_utc(req.has_param("from") ? req.get_param_value("from") : today.substr(0, 8) + "01");
    if (!from) return reply_error(res, 400, "from: " + from.error().message);
    auto to = req.has_param("to") ? parse_date_utc(req.get_param_value("to")) : Result<UnixSeconds>(*parse_date_utc(today) + 86400);
    if (!to) return reply_error(res, 400, "to: " + to.error().message);
    flush_analysis_counts();  // up to the moment
    std::lock_guard lock(service_db_mutex_);
    auto report = transparency_report(*service_db_, config_.deployment, {*from, *to}, now);
    if (!report) return reply_error(res, 400, report.error().message);
    reply_json(res, 200, *report);
  }));
  http_->Get("/api/alerts", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    AlertFilter filter;
    try {
      if (req.has_param("status")) {
        const std::string s = req.get_param_value("status");
        if (s != "open" && s != "confirmed" && s != "dismissed") return reply_error(res, 400, "status must be open, confirmed or dismissed");
        filter.status = s == "open" ? AlertStatus::kOpen : (s == "confirmed" ? AlertStatus::kConfirmed : AlertStatus::kDismissed);
      }
      if (req.has_param("camera")) filter.camera = req.get_param_value("camera");
      if (req.has_param("entry")) filter.entry_id = std::stoll(req.get_param_value("entry"));
      if (req.has_param("since")) filter.since = std::stoll(req.get_param_value("since"));
      if (req.has_param("limit")) filter.limit = std::stoi(req.get_param_value("limit"));
    } catch (const std::exception&) {
      return reply_error(res, 400, "entry, since and limit must be integers");
    }
    std::lock_guard lock(store_mutex_);
    auto list = alert_store_->list(filter);
    if (!list) return reply_error(res, 500, list.error().message);
    json out = json::array();
    for (const auto& r : *list) out.push_back(alert_record_json(r));
    reply_json(res, 200, out);
  }));
  http_->Get(R"(/api/alerts/(\d+))", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such alert");
    std::lock_guard lock(store_mutex_);
    auto r = alert_store_->get(*id);
    if (!r) return reply_error(res, 500, r.error().message);
    if (!r->has_value()) return reply_error(res, 404, "no such alert");
    reply_json(res, 200, alert_record_json(**r));
  }));
  http_->Get(R"(/api/alerts/(\d+)/evidence)", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no evidence for this alert (unknown, or purged after its retention)");
    std::lock_guard lock(store_mutex_);
    auto jpeg = alert_store_->evidence(*id);
    if (!jpeg) return reply_error(res, 500, jpeg.error().message);
    if (!jpeg->has_value()) return reply_error(res, 404, "no evidence for this alert (unknown, or purged after its retention)");
    res.set_content(std::string((*jpeg)->begin(), (*jpeg)->end()), "image/jpeg");
  }));
  auto decision = [this](bool confirm) {
    return [this, confirm](const httplib::Request& req, httplib::Response& res, const Principal& who) {
      // The person deciding is the one logged in; the body carries only a dismissal's reason.
      auto parsed = req.body.empty() ? Result<json>(json::object()) : parse_json_body(req);
      if (!parsed) return reply_error(res, 400, parsed.error().message);
      const json& body = *parsed;
      if (!body.is_object()) return reply_error(res, 400, "the body must be a JSON object");
      const std::string& user = who.name;
      const std::string reason = body.value("reason", std::string());
      const auto parsed_id = path_id(req);
      if (!parsed_id) return reply_error(res, 404, "alert " + std::string(req.matches[1]) + " does not exist");
      const std::int64_t id = *parsed_id;
      std::lock_guard lock(store_mutex_);
      auto s = confirm ? alert_store_->confirm(id, user, now_utc()) : alert_store_->dismiss(id, user, reason, now_utc());
      if (!s) {
        const bool missing = s.error().message.find("does not exist") != std::string::npos;
        const bool bad_request = s.error().message.find("needs a reason") != std::string::npos;
        return reply_error(res, missing ? 404 : (bad_request ? 400 : 409), s.error().message);
      }
      auto r = alert_store_->get(id);
      reply_json(res, 200, alert_record_json(**r));
    };
  };
  http_->Post(R"(/api/alerts/(\d+)/confirm)", guard(kReviewers, decision(true)));
  http_->Post(R"(/api/alerts/(\d+)/dismiss)", guard(kReviewers, decision(false)));
}

}  // namespace glassbox

namespace glassbox {

std::optional<Principal> LiveService::authenticate(const httplib::Request& req) {
  const std::string authorization = req.get_header_value("Authorization");
  std::lock_guard lock(users_mutex_);
  if (authorization.rfind("Bearer ", 0) == 0) {
    auto p = users_->api_token(authorization.substr(7));
    return p && p->has_value() ? std::optional<Principal>(**p) : std::nullopt;
  }
  const std::string session = cookie_value(req, "glassbox_session");
  if (session.empty()) return std::nullopt;
  auto p = users_->session(session, now_utc(), static_cast<UnixSeconds>(config_.session_idle_s));
  return p && p->has_value() ? std::optional<Principal>(**p) : std::nullopt;
}

std::function<void(const httplib::Request&, httplib::Response&)> LiveService::guard(std::set<Role> allowed, GuardedHandler handler) {
  return [this, allowed = std::move(allowed), handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    const auto who = authenticate(req);
    if (!who) {
      res.set_header("WWW-Authenticate", "Bearer");
      return reply_error(res, 401, "log in (POST /api/login) or send an API token (Authorization: Bearer ...)");
    }
    if (!allowed.empty() && std::none_of(allowed.begin(), allowed.end(), [&](Role r) { return who->has(r); })) {
      std::string roles;
      for (Role r : allowed) roles += std::string(roles.empty() ? "" : ", ") + role_name(r);
      return reply_error(res, 403, who->name + " may not do this (it needs: " + roles + ")");
    }
    // A browser session changing something must echo its CSRF token (API tokens are not
    // sent by browsers on their own, so they need none).
    if (who->via_session && req.method != "GET" && req.method != "HEAD" && req.get_header_value("X-CSRF-Token") != who->csrf_token)
      return reply_error(res, 403, "missing or wrong X-CSRF-Token (given at login)");
    handler(req, res, *who);
  };
}

void LiveService::register_account_routes() {
  http_->Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_json_body(req);
    if (!body || !body->is_object() || !(*body)["name"].is_string() || !(*body)["password"].is_string())
      return reply_error(res, 400, "send {\"name\": ..., \"password\": ...}");
    std::variant<NewSession, LoginError> outcome;
    {
      std::lock_guard lock(users_mutex_);
      outcome = users_->login((*body)["name"], (*body)["password"], now_utc());
    }
    if (const auto* failure = std::get_if<LoginError>(&outcome))
      return reply_error(res, failure->kind == LoginFailure::kLocked ? 429 : (failure->kind == LoginFailure::kInternal ? 500 : 401), failure->message);
    const NewSession& session = std::get<NewSession>(outcome);
    res.set_header("Set-Cookie", "glassbox_session=" + session.token + "; Path=/; HttpOnly; SameSite=Strict" +
                                     std::string(config_.cookie_secure ? "; Secure" : ""));
    json roles = json::array();
    for (Role r : session.principal.roles) roles.push_back(role_name(r));
    reply_json(res, 200, {{"user", session.principal.name}, {"roles", roles}, {"csrf_token", session.csrf_token}});
  });
  http_->Post("/api/logout", guard(kAnyRole, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    if (!who.via_session) return reply_error(res, 400, "an API token is not a session; nothing to log out");
    std::lock_guard lock(users_mutex_);
    if (auto s = users_->logout(cookie_value(req, "glassbox_session"), now_utc()); !s) return reply_error(res, 500, s.error().message);
    res.set_header("Set-Cookie", "glassbox_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.status = 204;
  }));
  http_->Get("/api/me", guard(kAnyRole, [](const httplib::Request&, httplib::Response& res, const Principal& who) {
    json roles = json::array();
    for (Role r : who.roles) roles.push_back(role_name(r));
    reply_json(res, 200, {{"user", who.name}, {"roles", roles}, {"via", who.via_session ? "session" : "token"}});
  }));
  http_->Post("/api/tokens", guard(kAnyRole, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    auto body = parse_json_body(req);
    if (!body || !body->is_object() || !(*body)["label"].is_string()) return reply_error(res, 400, "send {\"label\": ...}");
    std::lock_guard lock(users_mutex_);
    auto token = users_->create_api_token(who.name, (*body)["label"], who.name, now_utc());
    if (!token) return reply_error(res, 400, token.error().message);
    reply_json(res, 201, {{"user", who.name}, {"label", (*body)["label"]}, {"token", *token}});
  }));
  http_->Get("/api/users", guard(kAdmins, [this](const httplib::Request&, httplib::Response& res, const Principal&) {
    std::lock_guard lock(users_mutex_);
    auto users = users_->list_users();
    if (!users) return reply_error(res, 500, users.error().message);
    json list = json::array();
    for (const Principal& p : *users) {
      json roles = json::array();
      for (Role r : p.roles) roles.push_back(role_name(r));
      list.push_back({{"name", p.name}, {"roles", roles}});
    }
    reply_json(res, 200, list);
  }));
  http_->Post("/api/users", guard(kAdmins, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    auto body = parse_json_body(req);
    if (!body || !body->is_object() || !(*body)["name"].is_string() || !(*body)["password"].is_string() || !(*body)["roles"].is_array())
      return reply_error(res, 400, "send {\"name\": ..., \"password\": ..., \"roles\": [...]}");
    std::set<Role> roles;
    for (const auto& r : (*body)["roles"]) {
      auto role = r.is_string() ? parse_role(r.get<std::string>()) : Result<Role>(Error{"roles: names"});
      if (!role) return reply_error(res, 400, role.error().message);
      roles.insert(*role);
    }
    std::lock_guard lock(users_mutex_);
    if (auto s = users_->add_user((*body)["name"], (*body)["password"], roles, who.name, now_utc()); !s)
      return reply_error(res, s.error().message.find("exists already") != std::string::npos ? 409 : 400, s.error().message);
    reply_json(res, 201, {{"name", (*body)["name"]}, {"roles", (*body)["roles"]}});
  }));
  // The audit log for auditors: the same export as `glassbox audit export` (itself audited).
  http_->Get("/api/audit/export", guard(kAuditors, [this](const httplib::Request&, httplib::Response& res, const Principal& who) {
    const auto file = std::filesystem::path(data_dir_) / ("audit-export-" + std::to_string(::getpid()) + "-" + std::to_string(now_utc()) + ".jsonl");
    std::lock_guard lock(service_db_mutex_);
    auto n = audit::export_log(*service_db_, who.name, file.string(), now_utc());
    if (!n) return reply_error(res, 500, n.error().message);
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::error_code ec;
    std::filesystem::remove(file, ec);
    res.set_content(text.str(), "application/x-ndjson");
  }));
}

void LiveService::register_camera_routes() {
  auto camera_json = [this](const Camera& c) {
    const CameraStatus s = c.ingest->status();
    const LiveCameraStats a = analyzer_->camera_stats(c.analysis).value_or(LiveCameraStats{});
    json j = camera_to_json(c.config);
    j["managed_by"] = c.from_config_file ? "config" : "api";
    j["state"] = camera_state_name(s.state);
    j["last_error"] = s.last_error;
    j["frames_decoded"] = s.frames_decoded;
    j["frames_analysed"] = a.frames_analysed;
    j["frames_dropped"] = c.queue->dropped();
    j["reconnects"] = s.reconnects;
    j["alerts"] = a.alerts;
    return j;
  };
  http_->Get("/api/cameras", guard(kCameraReaders, [this, camera_json](const httplib::Request&, httplib::Response& res, const Principal&) {
    json list = json::array();
    for (const auto& c : camera_snapshot()) list.push_back(camera_json(*c));
    reply_json(res, 200, list);
  }));
  http_->Get(R"(/api/cameras/([^/]+))", guard(kCameraReaders, [this, camera_json](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto camera = find_camera(req.matches[1]);
    if (!camera) return reply_error(res, 404, "no camera named '" + std::string(req.matches[1]) + "'");
    reply_json(res, 200, camera_json(*camera));
  }));
  http_->Post("/api/cameras", guard(kAdmins, [this, camera_json](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    auto body = parse_json_body(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto config = parse_camera_json(*body, "camera", CameraConfig{});
    if (!config) return reply_error(res, 400, config.error().message);
    std::lock_guard changes(camera_changes_mutex_);
    if (find_camera(config->name)) return reply_error(res, 409, "camera '" + config->name + "' exists already");
    if (auto s = camera_store_->insert(*config, who.name, now_utc()); !s) return reply_error(res, refusal_status(s.error().message), s.error().message);
    auto camera = make_camera(*config, false);
    {
      std::lock_guard lock(cameras_mutex_);
      if (cameras_started_) start_camera(*camera);
      cameras_[config->name] = camera;
    }
    reply_json(res, 201, camera_json(*camera));
  }));
  // Changes or removal of a camera through the API; file cameras are refused with the reason.
  auto api_camera = [this](const std::string& name, httplib::Response& res) -> std::shared_ptr<Camera> {
    auto camera = find_camera(name);
    if (!camera) {
      reply_error(res, 404, "no camera named '" + name + "'");
    } else if (camera->from_config_file) {
      reply_error(res, 409, "camera '" + name + "' is defined in the configuration file; change it there and restart");
      return nullptr;
    }
    return camera;
  };
  http_->Patch(R"(/api/cameras/([^/]+))", guard(kAdmins, [this, camera_json, api_camera](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    auto body = parse_json_body(req);
    if (!body) return reply_error(res, 400, body.error().message);
    std::lock_guard changes(camera_changes_mutex_);
    auto old = api_camera(req.matches[1], res);
    if (!old) return;
    auto config = parse_camera_json(*body, "camera", old->config, /*allow_name=*/false);
    if (!config) return reply_error(res, 400, config.error().message);
    if (auto s = camera_store_->update(*config, who.name, now_utc()); !s) return reply_error(res, refusal_status(s.error().message), s.error().message);
    // A changed camera starts afresh: new source, new tracks, counters from zero.
    retire_camera(*old);
    auto camera = make_camera(*config, false);
    {
      std::lock_guard lock(cameras_mutex_);
      if (cameras_started_) start_camera(*camera);
      cameras_[config->name] = camera;
    }
    reply_json(res, 200, camera_json(*camera));
  }));
  http_->Delete(R"(/api/cameras/([^/]+))", guard(kAdmins, [this, api_camera](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    std::lock_guard changes(camera_changes_mutex_);
    auto camera = api_camera(req.matches[1], res);
    if (!camera) return;
    if (auto s = camera_store_->remove(camera->config.name, who.name, now_utc()); !s) return reply_error(res, refusal_status(s.error().message), s.error().message);
    {
      std::lock_guard lock(cameras_mutex_);
      cameras_.erase(camera->config.name);
    }
    retire_camera(*camera);
    res.status = 204;
  }));
}

void LiveService::register_entry_routes() {
  http_->Get("/api/entries", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    std::optional<std::string> status;
    if (req.has_param("status")) {
      status = req.get_param_value("status");
      if (*status != "pending" && *status != "active" && *status != "revoked")
        return reply_error(res, 400, "status must be pending, active or revoked");
    }
    std::lock_guard lock(entries_mutex_);
    auto entries = entry_store_->list_entries();
    if (!entries) return reply_error(res, 500, entries.error().message);
    const UnixSeconds now = now_utc();
    json list = json::array();
    for (const EntryRecord& e : *entries)
      if (!status || *status == entry_status_name(e.status)) list.push_back(entry_to_json(e, now));
    reply_json(res, 200, list);
  }));
  http_->Get(R"(/api/entries/(\d+))", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such entry");
    std::lock_guard lock(entries_mutex_);
    auto entry = entry_store_->get_entry(*id);
    if (!entry) return reply_error(res, 500, entry.error().message);
    if (!entry->has_value()) return reply_error(res, 404, "no such entry");
    reply_json(res, 200, entry_to_json(**entry, now_utc()));
  }));
  // Enrolment: multipart/form-data with the entry's fields and one or more `photo` files. The
  // photos are decoded in memory; only their templates, names and hashes are stored.
  http_->Post("/api/entries", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    if (!req.is_multipart_form_data())
      return reply_error(res, 415, "send the entry as multipart/form-data: fields subject, legal_basis, source, expires "
                                   "and one or more files named photo");
    auto field = [&](const char* name) { return req.has_file(name) ? req.get_file_value(name).content : std::string(); };
    // The submitter is the one logged in.
    if (req.has_file("submitted_by") && field("submitted_by") != who.name)
      return reply_error(res, 400, "submitted_by: entries are submitted by the user logged in (" + who.name + ")");
    EnrollmentFields fields{field("subject"), field("legal_basis"), field("source"), field("expires"), who.name, {}};
    fields.scope = comma_list(field("scope"));  // absent or empty: all cameras
    const std::vector<PhotoUpload> photos = uploaded_photos(req, "photo");
    const UnixSeconds now = now_utc();
    if (auto checked = validate_entry_fields(fields, now, FieldNames::kJson); !checked) return reply_error(res, 400, checked.error().message);
    std::lock_guard lock(entries_mutex_);
    if (auto loaded = load_photo_models(); !loaded) return reply_error(res, 500, loaded.error().message);
    auto id = enroll_uploaded_entry(*entry_store_, fields, photos, *enrol_detector_, *enrol_embedder_, PhotoOptions{}, now);
    if (!id) return reply_error(res, id.error().message.find("refused") != std::string::npos ? 400 : 500, id.error().message);
    auto entry = entry_store_->get_entry(*id);
    if (!entry || !entry->has_value()) return reply_error(res, 500, "entry " + std::to_string(*id) + " stored but cannot be read back");
    reply_json(res, 201, entry_to_json(**entry, now));
  }));
  // Approval and revocation take effect at once: the watchlist is reloaded before answering.
  auto change = [this](bool approve) {
    return [this, approve](const httplib::Request& req, httplib::Response& res, const Principal& who) {
      auto parsed = req.body.empty() ? Result<json>(json::object()) : parse_json_body(req);
      if (!parsed) return reply_error(res, 400, parsed.error().message);
      if (!parsed->is_object()) return reply_error(res, 400, "the body must be a JSON object");
      const std::string& user = who.name;  // approver or revoker: the one logged in
      const std::string reason = parsed->value("reason", std::string());
      const auto parsed_id = path_id(req);
      if (!parsed_id) return reply_error(res, 404, "entry " + std::string(req.matches[1]) + " does not exist");
      const std::int64_t id = *parsed_id;
      const UnixSeconds now = now_utc();
      std::lock_guard lock(entries_mutex_);
      auto s = approve ? entry_store_->approve_entry(id, user, now) : entry_store_->revoke_entry(id, user, reason, now);
      if (!s) return reply_error(res, refusal_status(s.error().message), s.error().message);
      if (auto reloaded = reload_watchlist(); !reloaded)
        return reply_error(res, 500, "stored, but the running watchlist could not be reloaded (retried every few seconds): " +
                                         reloaded.error().message);
      auto entry = entry_store_->get_entry(id);
      if (!entry || !entry->has_value()) return reply_error(res, 500, "entry " + std::to_string(id) + " cannot be read back");
      reply_json(res, 200, entry_to_json(**entry, now));
    };
  };
  http_->Post(R"(/api/entries/(\d+)/approve)", guard(kSupervisors, change(true)));
  http_->Post(R"(/api/entries/(\d+)/revoke)", guard(kSupervisors, change(false)));
}

}  // namespace glassbox
