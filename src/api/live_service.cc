#include "api/live_service.h"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "alert/json_lines.h"
#include "api/openapi_document.h"
#include "detect/yunet_detector.h"
#include "embed/onnx_embedder.h"
#include "ingest/video_source.h"
#include "pipeline/watchlist_loader.h"

namespace glassbox {
namespace {

using nlohmann::json;

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

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) { reply_json(res, status, {{"error", message}}); }

}  // namespace

Result<std::unique_ptr<LiveService>> LiveService::create(const std::string& data_dir, ServiceConfig config) {
  std::unique_ptr<LiveService> service(new LiveService());
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Error{data_dir + ": cannot create the data folder: " + ec.message()};
  service->data_dir_ = data_dir;
  service->db_path_ = (std::filesystem::path(data_dir) / "glassbox.db").string();
  service->config_ = std::move(config);
  auto profile = load_model_profile(service->config_.profile);
  if (!profile) return profile.error();
  service->profile_ = *profile;
  auto store = SqliteAlertStore::open(service->db_path_);
  if (!store) return store.error();
  service->alert_store_ = std::move(*store);
  service->sink_ = std::make_unique<StoringAlertSink>(*service->alert_store_, service->store_mutex_,
                                                      service->config_.evidence_retention_days);
  for (const WebhookConfig& hook : service->config_.webhooks) service->webhooks_.push_back(std::make_unique<WebhookSender>(hook));
  LiveService* self = service.get();
  service->sink_->on_stored([self](std::int64_t id, const Alert& alert) {
    json event = alert_to_json(alert);
    event["id"] = id;
    event["camera"] = alert.source;
    event["status"] = "open";
    const std::string text = event.dump();
    self->broadcaster_.publish(text);
    for (auto& hook : self->webhooks_) hook->deliver(text);
  });
  std::vector<LiveAnalyzer::Worker> workers;
  for (int i = 0; i < service->config_.workers; ++i) {
    auto detector = YuNetDetector::create({});
    if (!detector) return detector.error();
    auto embedder = OnnxEmbedder::create(service->profile_);
    if (!embedder) return embedder.error();
    workers.push_back({std::move(*detector), std::move(*embedder)});
  }
  service->analyzer_ = std::make_unique<LiveAnalyzer>(std::move(workers), *service->sink_,
                                                      std::make_shared<WatchlistMatrix>(service->profile_.metric, service->profile_.dimension));
  if (auto s = service->reload_watchlist(); !s) return s.error();
  for (const CameraConfig& c : service->config_.cameras) {
    Camera camera;
    camera.config = c;
    camera.queue = std::make_unique<DropOldestQueue<CapturedFrame>>(static_cast<std::size_t>(service->config_.queue_frames));
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
    camera.ingest = std::make_unique<CameraIngest>(c.name, [url, source_options] { return open_source(url, source_options); },
                                                   *camera.queue, options);
    AnalysisOptions analysis;
    analysis.rate_fps = c.rate_fps;
    analysis.min_face_px = c.min_face_px;
    analysis.threshold = service->profile_.threshold;
    service->analyzer_->add_camera(c.name, *camera.queue, analysis);
    service->cameras_.push_back(std::move(camera));
  }
  service->register_routes();
  return service;
}

LiveService::~LiveService() { stop(); }

Status LiveService::reload_watchlist() {
  // A connection of its own: the maintenance thread and create() are the only callers.
  auto store = SqliteWatchlistStore::open(db_path_, OpenMode::kReadWriteCreate);
  if (!store) return store.error();
  auto loaded = load_watchlist(**store, profile_, now_utc());
  if (!loaded) return loaded.error();
  watchlist_entries_ = loaded->matrix.entries();
  analyzer_->set_watchlist(std::make_shared<WatchlistMatrix>(std::move(loaded->matrix)));
  ++watchlist_reloads_;
  return ok_status();
}

void LiveService::maintenance_loop() {
  auto next_purge = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(maintenance_mutex_);
      if (maintenance_wake_.wait_for(lock, std::chrono::milliseconds(static_cast<int>(config_.watchlist_reload_s * 1000)),
                                     [&] { return stopping_; }))
        return;
    }
    (void)reload_watchlist();  // on failure the previous list stays in force
    if (std::chrono::steady_clock::now() >= next_purge) {
      next_purge = std::chrono::steady_clock::now() + std::chrono::minutes(10);
      std::lock_guard lock(store_mutex_);
      if (auto purged = alert_store_->purge_evidence(now_utc()); purged) evidence_purged_ += static_cast<std::uint64_t>(*purged);
    }
  }
}

Status LiveService::start(const std::string& host, int port) {
  const int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return Error{host + ":" + std::to_string(port) + ": cannot listen (address in use or not allowed)"};
  port_ = bound;
  analyzer_->start();
  for (Camera& c : cameras_) c.ingest->start();
  maintenance_thread_ = std::thread([this] { maintenance_loop(); });
  http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  ready_ = true;
  return ok_status();
}

void LiveService::stop() {
  if (!ready_.exchange(false)) return;
  for (Camera& c : cameras_) c.ingest->stop();     // no new frames
  analyzer_->stop();                               // frames in analysis finish; their alerts are stored
  {
    std::lock_guard lock(maintenance_mutex_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  http_->stop();
  if (http_thread_.joinable()) http_thread_.join();
  for (auto& hook : webhooks_) hook->stop();
}

std::string LiveService::metrics_text() const {
  std::ostringstream m;
  const auto analysis = analyzer_->stats();
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
    for (const Camera& c : cameras_) {
      const auto it = analysis.find(c.config.name);
      const LiveCameraStats stats = it == analysis.end() ? LiveCameraStats{} : it->second;
      m << row.name << "{camera=\"" << c.config.name << "\"} " << row.value(c, stats, c.ingest->status()) << "\n";
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
  family("glassbox_evidence_purged_total", "counter", "Evidence crops deleted after their retention");
  m << "glassbox_evidence_purged_total " << evidence_purged_.load() << "\n";
  return m.str();
}

void LiveService::register_routes() {
  http_ = std::make_unique<httplib::Server>();
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, ready_ ? 200 : 503, {{"status", ready_ ? "ok" : "starting"}, {"cameras", cameras_.size()}});
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  http_->Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) { res.set_content(kOpenApiDocument, "application/json"); });
  // Live alerts as Server-Sent Events; a comment every second keeps idle connections open and
  // notices clients that went away.
  http_->Get("/api/events", [this](const httplib::Request&, httplib::Response& res) {
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
  });
  http_->Get("/api/cameras", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    const auto analysis = analyzer_->stats();
    for (const Camera& c : cameras_) {
      const CameraStatus s = c.ingest->status();
      const auto a = analysis.count(c.config.name) ? analysis.at(c.config.name) : LiveCameraStats{};
      list.push_back({{"name", c.config.name},
                      {"url", c.config.url},
                      {"rate", c.config.rate_fps},
                      {"min_face", c.config.min_face_px},
                      {"enabled", c.config.enabled},
                      {"state", camera_state_name(s.state)},
                      {"last_error", s.last_error},
                      {"frames_decoded", s.frames_decoded},
                      {"frames_analysed", a.frames_analysed},
                      {"frames_dropped", c.queue->dropped()},
                      {"reconnects", s.reconnects},
                      {"alerts", a.alerts}});
    }
    reply_json(res, 200, list);
  });
  http_->Get("/api/alerts", [this](const httplib::Request& req, httplib::Response& res) {
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
  });
  http_->Get(R"(/api/alerts/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(store_mutex_);
    auto r = alert_store_->get(std::stoll(req.matches[1]));
    if (!r) return reply_error(res, 500, r.error().message);
    if (!r->has_value()) return reply_error(res, 404, "no such alert");
    reply_json(res, 200, alert_record_json(**r));
  });
  http_->Get(R"(/api/alerts/(\d+)/evidence)", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(store_mutex_);
    auto jpeg = alert_store_->evidence(std::stoll(req.matches[1]));
    if (!jpeg) return reply_error(res, 500, jpeg.error().message);
    if (!jpeg->has_value()) return reply_error(res, 404, "no evidence for this alert (unknown, or purged after its retention)");
    res.set_content(std::string((*jpeg)->begin(), (*jpeg)->end()), "image/jpeg");
  });
  auto decision = [this](bool confirm) {
    return [this, confirm](const httplib::Request& req, httplib::Response& res) {
      json body;
      try {
        body = json::parse(req.body);
      } catch (const json::exception&) {
        return reply_error(res, 400, "the body must be JSON");
      }
      const std::string user = body.value("user", std::string());
      const std::string reason = body.value("reason", std::string());
      if (user.empty()) return reply_error(res, 400, "user: the person deciding must be named");
      const std::int64_t id = std::stoll(req.matches[1]);
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
  http_->Post(R"(/api/alerts/(\d+)/confirm)", decision(true));
  http_->Post(R"(/api/alerts/(\d+)/dismiss)", decision(false));
}

}  // namespace glassbox
