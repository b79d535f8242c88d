// The live service's recordings and searches (docs/search.md): the segment index kept right
// after a crash, recordings purged after their retention, approved searches run one at a time
// on their own thread and connection, and the /api/searches routes.
// Thread-safety: as LiveService (see live_service.h for which mutex guards what).
#include <httplib.h>

#include "api/http_util.h"
#include "api/live_service.h"
#include "audit/audit_log.h"
#include "search/search_job.h"
#include "store/search_store.h"
#include "store/sqlite_statement.h"

namespace glassbox {
using namespace glassbox::http;

Status LiveService::recover_segments() {
  auto open = unfinished_segments(*service_db_);
  if (!open) return open.error();
  for (const RecordedSegment& seg : *open) {
    auto duration = media_duration(seg.path);
    std::error_code ec;
    if (duration && *duration > 0.0) {
      const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(seg.path, ec));
      if (auto s = complete_segment(*service_db_, seg.id, seg.start_ms + static_cast<std::int64_t>(*duration * 1000.0), ec ? 0 : bytes); !s)
        return s;
    } else {
      // Nothing readable was written before the crash: no footage to keep.
      std::filesystem::remove(seg.path, ec);
      if (auto s = drop_segment(*service_db_, seg.id); !s) return s;
    }
  }
  return ok_status();
}

void LiveService::purge_recordings() {
  // Every camera with segments, configured or not any more, with its retention.
  std::map<std::string, double> retention;
  {
    std::lock_guard lock(service_db_mutex_);
    SqliteStatement cameras(service_db_->handle(), "SELECT DISTINCT camera FROM recording_segments");
    if (!cameras.prepared()) return;
    while (cameras.step() == SQLITE_ROW) retention[cameras.text(0)] = kDefaultRecordRetentionDays;
  }
  for (const auto& camera : camera_snapshot())
    if (retention.count(camera->config.name)) retention[camera->config.name] = camera->config.record_retention_days;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& [camera, days] : retention) {
    Result<std::vector<RecordedSegment>> purged = std::vector<RecordedSegment>{};
    {
      std::lock_guard lock(service_db_mutex_);
      purged = purge_segments(*service_db_, camera, now_ms - static_cast<std::int64_t>(days * 86400.0 * 1000.0), now_utc());
    }
    if (!purged) continue;  // not audited, so not deleted; tried again next time
    for (const RecordedSegment& seg : *purged) {
      std::error_code ec;
      std::filesystem::remove(seg.path, ec);
      ++segments_purged_;
    }
  }
}

void LiveService::search_loop() {
  auto db = SqliteDatabase::open(db_path_, OpenMode::kReadWriteCreate);
  auto key = TemplateKey::load(db_path_, /*create_if_missing=*/true);
  if (!db || !key) return;  // searches stay approved, and run at the next start
  while (true) {
    {
      std::unique_lock lock(maintenance_mutex_);
      if (stopping_) return;
    }
    auto waiting = approved_searches(**db);
    if (!waiting || waiting->empty()) {
      std::unique_lock lock(searches_mutex_);
      searches_wake_.wait_for(lock, std::chrono::seconds(2));
      continue;
    }
    const std::int64_t id = waiting->front();
    {
      std::lock_guard lock(searches_mutex_);
      running_search_ = id;
      running_progress_.reset();
    }
    {
      // stop() sets stopping_ before it cancels: a search either does not start (it stays
      // approved and runs at the next start) or is cancelled by it.
      std::lock_guard lock(maintenance_mutex_);
      if (stopping_) return;
      cancel_running_search_ = false;
    }
    SearchJobOptions options;
    options.workers = config_.search_workers;
    SearchHooks hooks;
    hooks.cancel = &cancel_running_search_;
    hooks.progress_interval_s = 0.5;
    hooks.on_progress = [this](const SearchProgress& p) {
      std::lock_guard lock(searches_mutex_);
      running_progress_ = p;
    };
    auto outcome = run_stored_search(**db, id, *key, options, hooks);  // a failure is recorded on the search
    ++searches_finished_;
    std::unique_lock lock(searches_mutex_);
    running_search_.reset();
    running_progress_.reset();
    // One that could not even be started (the database busy, its record refused) is still
    // approved: try again in a while, not at once.
    if (!outcome) searches_wake_.wait_for(lock, std::chrono::seconds(2));
  }
}

void LiveService::register_search_routes() {
  register_upload_routes();
  // A request: multipart/form-data with the fields of docs/search.md and one or more `probe`
  // photos, decoded in memory; only their templates are kept, sealed, until the search ends.
  http_->Post("/api/searches", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    if (!req.is_multipart_form_data())
      return reply_error(res, 415, "send the search as multipart/form-data: case_id, legal_basis, cameras, from, to, mode, expires "
                                   "and one or more files named probe");
    auto field = [&](const char* name) { return req.has_file(name) ? req.get_file_value(name).content : std::string(); };
    if (req.has_file("requested_by") && field("requested_by") != who.name)
      return reply_error(res, 400, "requested_by: searches are requested by the user logged in (" + who.name + ")");
    if (req.has_file("files"))
      return reply_error(res, 400, "files: upload recordings through /api/uploads and name them in the field uploads");
    const UnixSeconds now = now_utc();
    SearchRequest request;
    request.case_id = field("case_id");
    request.legal_basis = field("legal_basis");
    request.requested_by = who.name;
    request.cameras = comma_list(field("cameras"));
    std::vector<std::string> problems;
    // uploads: ids of finished uploads; searched whole, like files.
    for (const std::string& text : comma_list(field("uploads"))) {
      std::optional<Upload> upload;
      try {
        std::lock_guard lock(service_db_mutex_);
        auto loaded = load_upload(*service_db_, std::stoll(text));
        if (loaded) upload = std::move(*loaded);
      } catch (const std::exception&) {
      }
      if (!upload) problems.push_back("uploads: " + text + " is not an upload");
      else if (!upload->sha256) problems.push_back("uploads: " + text + " is not finished (POST /api/uploads/" + text + "/finish)");
      else request.files.push_back(upload->path);
    }
    for (const char* name : {"from", "to"}) {
      if (field(name).empty()) continue;
      auto t = parse_time_utc(field(name));
      if (!t) problems.push_back(std::string(name) + ": " + t.error().message);
      else (std::string(name) == "from" ? request.window_from : request.window_to) = *t;
    }
    auto mode = SamplingMode::parse(field("mode").empty() ? "keyframes" : field("mode"));
    if (!mode) problems.push_back("mode: " + mode.error().message);
    else request.mode = *mode;
    if (field("expires").empty()) {
      request.expires_at = now + 30 * 86400;
    } else if (auto e = parse_date_utc(field("expires")); !e) {
      problems.push_back("expires: " + e.error().message);
    } else {
      request.expires_at = *e;
    }
    request.profile = profile_.name;
    request.threshold = profile_.threshold;
    const std::vector<PhotoUpload> photos = uploaded_photos(req, "probe");
    if (auto s = validate_search_request(request, photos.size(), now, FieldNames::kJson); !s) problems.push_back(s.error().message);
    if (!problems.empty()) return reply_error(res, 400, join_problems(problems));
    std::vector<EntryTemplate> probes;
    {
      std::lock_guard lock(entries_mutex_);  // the enrolment detector and recognizer serve probes too
      if (auto loaded = load_photo_models(); !loaded) return reply_error(res, 500, loaded.error().message);
      for (const PhotoUpload& photo : photos) {
        auto t = template_from_upload(photo, *enrol_detector_, *enrol_embedder_, PhotoOptions{});
        if (!t) return reply_error(res, 400, "probe " + t.error().message);
        probes.push_back(std::move(*t));
      }
    }
    auto key = TemplateKey::load(db_path_, /*create_if_missing=*/true);
    if (!key) return reply_error(res, 500, key.error().message);
    std::lock_guard lock(service_db_mutex_);
    auto id = request_search(*service_db_, request, probes, *key, now);
    if (!id) return reply_error(res, 500, id.error().message);
    auto stored = load_search(*service_db_, *id);
    if (!stored || !stored->has_value()) return reply_error(res, 500, "search " + std::to_string(*id) + " stored but cannot be read back");
    reply_json(res, 201, search_to_json(**stored));
  }));
  http_->Get("/api/searches", guard(kSearchReaders, [this](const httplib::Request&, httplib::Response& res, const Principal&) {
    std::lock_guard lock(service_db_mutex_);
    auto list = list_searches_json(*service_db_);
    if (!list) return reply_error(res, 500, list.error().message);
    reply_json(res, 200, *list);
  }));
  // One search; `progress` while it runs.
  http_->Get(R"(/api/searches/(\d+))", guard(kSearchReaders, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such search");
    std::optional<StoredSearch> search;
    {
      std::lock_guard lock(service_db_mutex_);
      auto loaded = load_search(*service_db_, *id);
      if (!loaded) return reply_error(res, 500, loaded.error().message);
      search = std::move(*loaded);
    }
    if (!search) return reply_error(res, 404, "no such search");
    json j = search_to_json(*search);
    std::lock_guard lock(searches_mutex_);
    if (running_search_ == *id && running_progress_) j["progress"] = running_progress_->to_json();
    reply_json(res, 200, j);
  }));
  http_->Post(R"(/api/searches/(\d+)/approve)", guard(kSupervisors, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "search does not exist");
    {
      std::lock_guard lock(service_db_mutex_);
      if (auto s = approve_search(*service_db_, *id, who.name, now_utc()); !s)
        return reply_error(res, refusal_status(s.error().message), s.error().message);
      auto stored = load_search(*service_db_, *id);
      if (!stored || !stored->has_value()) return reply_error(res, 500, "search cannot be read back");
      reply_json(res, 200, search_to_json(**stored));
    }
    searches_wake_.notify_all();
  }));
  http_->Post(R"(/api/searches/(\d+)/cancel)", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "search does not exist");
    {
      std::lock_guard lock(searches_mutex_);
      if (running_search_ == *id) {
        // Recorded first (no record, no cancellation); it then stops between frames and is
        // stored as cancelled, with what it found so far.
        std::lock_guard db_lock(service_db_mutex_);
        if (auto s = service_db_->transaction([&] {
              return audit::append(*service_db_, {who.name, "search.cancel", "search/" + std::to_string(*id), json::object()}, now_utc());
            });
            !s)
          return reply_error(res, 500, "the cancellation could not be audited, so the search goes on: " + s.error().message);
        cancel_running_search_ = true;
        return reply_json(res, 202, {{"id", *id}, {"status", "cancelling"}});
      }
    }
    std::lock_guard lock(service_db_mutex_);
    if (auto s = cancel_search(*service_db_, *id, who.name, now_utc()); !s)
      return reply_error(res, refusal_status(s.error().message), s.error().message);
    auto stored = load_search(*service_db_, *id);
    if (!stored || !stored->has_value()) return reply_error(res, 500, "search cannot be read back");
    reply_json(res, 200, search_to_json(**stored));
  }));
  http_->Get(R"(/api/searches/(\d+)/results)", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such search");
    std::lock_guard lock(service_db_mutex_);
    auto stored = load_search(*service_db_, *id);
    if (!stored) return reply_error(res, 500, stored.error().message);
    if (!stored->has_value()) return reply_error(res, 404, "no such search");
    const std::string& status = (*stored)->status;
    if (status == "pending" || status == "approved" || status == "running")
      return reply_error(res, 409, "search " + std::to_string(*id) + " is " + status + "; its results come when it has finished");
    auto result = search_result_json(*service_db_, **stored);
    if (!result) return reply_error(res, 500, result.error().message);
    reply_json(res, 200, *result);
  }));
  http_->Get(R"(/api/searches/(\d+)/visits/(\d+)/crop)", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
    const auto id = path_id(req);
    int ordinal = 0;
    try {
      ordinal = std::stoi(req.matches[2]);
    } catch (const std::exception&) {
      return reply_error(res, 404, "no such visit");
    }
    if (!id) return reply_error(res, 404, "no such visit");
    std::lock_guard lock(service_db_mutex_);
    auto jpeg = visit_crop(*service_db_, *id, ordinal);
    if (!jpeg) return reply_error(res, 500, jpeg.error().message);
    if (!jpeg->has_value()) return reply_error(res, 404, "no crop for this visit (unknown, or the search has expired)");
    res.status = 200;
    res.set_content(std::string((*jpeg)->begin(), (*jpeg)->end()), "image/jpeg");
  }));
}

void LiveService::register_upload_routes() {
  // Recordings for a search arrive in chunks, each within the request size limit, appended at
  // the offset the server holds; the client finishes with the file's SHA-256, which is checked.
  http_->Post("/api/uploads", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    auto body = parse_json_body(req);
    if (!body) return reply_error(res, 400, body.error().message);
    if (!body->is_object() || !body->contains("name") || !(*body)["name"].is_string())
      return reply_error(res, 400, "name: give the recording's file name");
    const UnixSeconds now = now_utc();
    std::lock_guard lock(service_db_mutex_);
    auto upload = create_upload(*service_db_, (*body)["name"], (std::filesystem::path(data_dir_) / "uploads").string(), who.name, now,
                                now + static_cast<UnixSeconds>(config_.upload_retention_days) * 86400);
    if (!upload) return reply_error(res, upload.error().message.find("name must") != std::string::npos ? 400 : 500, upload.error().message);
    reply_json(res, 201, upload->to_json());
  }));
  http_->Put(R"(/api/uploads/(\d+))", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "upload does not exist");
    std::int64_t offset = -1;
    try {
      offset = std::stoll(req.get_header_value("Upload-Offset"));
    } catch (const std::exception&) {
      return reply_error(res, 400, "Upload-Offset: give the byte offset of this chunk (the upload's size so far)");
    }
    std::lock_guard lock(service_db_mutex_);
    auto upload = append_upload(*service_db_, *id, offset, req.body, who.name);
    if (!upload) return reply_error(res, refusal_status(upload.error().message), upload.error().message);
    reply_json(res, 200, upload->to_json());
  }));
  http_->Post(R"(/api/uploads/(\d+)/finish)", guard(kReviewers, [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "upload does not exist");
    auto body = parse_json_body(req);
    if (!body) return reply_error(res, 400, body.error().message);
    if (!body->is_object() || !body->contains("sha256") || !(*body)["sha256"].is_string())
      return reply_error(res, 400, "sha256: give the SHA-256 of the whole file (lower-case hex)");
    std::lock_guard lock(service_db_mutex_);
    auto upload = finish_upload(*service_db_, *id, (*body)["sha256"], who.name, now_utc());
    if (!upload) {
      const std::string& m = upload.error().message;
      return reply_error(res, m.find("SHA-256 is") != std::string::npos ? 400 : refusal_status(m), m);
    }
    reply_json(res, 200, upload->to_json());
  }));
}

}  // namespace glassbox
