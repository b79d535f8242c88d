// The live service's recordings and searches (docs/search.md): the segment index kept right
// after a crash, recordings purged after their retention, approved searches run one at a time
// on their own thread and connection, and the /api/searches routes.
// In a cluster a search is claimed by the node that runs it (its coordinator), and run again by
// another when that node dies; its recordings are spread over the nodes as parts, which every
// node's search loop claims when it has no search of its own to run (docs/cluster.md,
// "Searches across nodes").
// Thread-safety: as LiveService (see live_service.h for which mutex guards what).
#include "api/http_util.h"
#include "ingest/libav_input.h"
#include "api/live_service.h"
#include "audit/audit_log.h"
#include "search/search_job.h"
#include "store/search_parts.h"
#include "store/search_store.h"

namespace glassbox {
using namespace glassbox::http;

Status LiveService::recover_segments() {
  auto open = unfinished_segments(*service_db_);
  if (!open) return open.error();
  int completed = 0, dropped = 0;
  for (const RecordedSegment& seg : *open) {
    auto duration = media_duration(seg.path);
    std::error_code ec;
    if (duration && *duration > 0.0) {
      const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(seg.path, ec));
      if (auto s = complete_segment(*service_db_, seg.id, seg.start_ms + static_cast<std::int64_t>(*duration * 1000.0), ec ? 0 : bytes); !s)
        return s;
      ++completed;
    } else {
      // Nothing readable was written before the crash: no footage to keep. The file goes
      // first; one that cannot be deleted stays indexed (and is tried again at the next start).
      std::filesystem::remove(seg.path, ec);
      if (ec && ec != std::errc::no_such_file_or_directory) {
        ++purge_failures_;
        continue;
      }
      if (auto s = drop_segment(*service_db_, seg.id); !s) return s;
      ++dropped;
    }
  }
  if (completed + dropped == 0) return ok_status();
  // What the recovery did to the recordings is on the record too.
  return service_db_->transaction([&] {
    return audit::append(*service_db_, {"system", "recording.recover", "recordings", {{"completed", completed}, {"dropped_empty", dropped}}}, now_utc());
  });
}

void LiveService::purge_recordings() {
  // Every camera with segments, configured or not any more, with its retention.
  std::map<std::string, double> retention;
  {
    std::lock_guard lock(service_db_mutex_);
    auto cameras = service_db_->prepare("SELECT DISTINCT camera FROM recording_segments");
    auto read = for_each_row(*cameras, "cannot list the recorded cameras", [&] {
      retention[cameras->text(0)] = kDefaultRecordRetentionDays;
      return ok_status();
    });
    if (!read) return;
  }
  for (const auto& camera : camera_snapshot())
    if (retention.count(camera->config.name)) retention[camera->config.name] = camera->config.record_retention_days;
  const auto now_ms = now_utc_ms();
  for (const auto& [camera, days] : retention) {
    Result<std::vector<RecordedSegment>> expired = std::vector<RecordedSegment>{};
    {
      std::lock_guard lock(service_db_mutex_);
      expired = segments_to_purge(*service_db_, camera, now_ms - static_cast<std::int64_t>(days * 86400.0 * 1000.0));
    }
    if (!expired) continue;
    // Files first; only those gone are taken out of the index and recorded as purged.
    std::vector<RecordedSegment> deleted;
    for (const RecordedSegment& seg : *expired) {
      std::error_code ec;
      std::filesystem::remove(seg.path, ec);
      if (ec && ec != std::errc::no_such_file_or_directory) {
        ++purge_failures_;
        continue;
      }
      deleted.push_back(seg);
    }
    std::lock_guard lock(service_db_mutex_);
    if (remove_purged_segments(*service_db_, camera, deleted, now_utc())) segments_purged_ += deleted.size();
  }
}

bool LiveService::search_runnable_here(Database& db, std::int64_t id, const TemplateKey& key) {
  // The probe opens with this node's template key (a node given another key, or none yet, leaves
  // the search to one that has it). Its recordings need not be readable here: they are spread
  // over the nodes as parts, each searched by a node that can read it.
  return static_cast<bool>(probe_templates(db, id, key));
}

void LiveService::search_loop() {
  auto db = connect();
  if (!db) return;  // searches stay approved, and run at the next start
  const SearchClaim claim{node_, static_cast<std::int64_t>(config_.search_claim_s * 1000)};
  // In a cluster, a search whose probe was sealed under a template key this node was not given
  // yet is left for a node that has it for two claims' time; after that this node runs it,
  // reporting what it cannot do, as one machine would. A node that has no search to run
  // searches parts of the others' (docs/cluster.md, "Searches across nodes").
  std::map<std::int64_t, std::chrono::steady_clock::time_point> unrunnable_since;
  while (true) {
    {
      std::unique_lock lock(maintenance_mutex_);
      if (stopping_) return;
    }
    // Loaded for each search: a cluster's node may be given the key while it runs. One machine
    // makes its key on first use; a cluster's node never makes one of its own (docs/cluster.md).
    auto key = TemplateKey::load(database_.key_base, /*create_if_missing=*/!cluster());
    auto waiting = searches_to_run(**db, unix_ms_now());
    std::optional<std::int64_t> next;
    if (waiting && key) {
      for (std::int64_t candidate : *waiting) {
        if (!cluster() || search_runnable_here(**db, candidate, *key)) {
          next = candidate;
          break;
        }
        auto [at, fresh] = unrunnable_since.emplace(candidate, std::chrono::steady_clock::now());
        if (std::chrono::steady_clock::now() - at->second >= std::chrono::milliseconds(2 * claim.claim_ms)) {
          next = candidate;
          break;
        }
      }
    }
    if (!next && cluster() && key) {
      SearchJobOptions options;
      options.workers = config_.search_workers;
      SearchHooks hooks;
      hooks.cancel = &stop_search_parts_;
      auto searched = run_search_parts(**db, *key, options, hooks, claim);
      if (searched && *searched > 0) {
        search_parts_searched_ += static_cast<std::uint64_t>(*searched);
        continue;
      }
      if (!searched) {
        ++search_parts_failed_;
        security_log_.internal_error("searching parts of a search: " + searched.error().message);
      }
    }
    if (!next) {
      std::unique_lock lock(searches_mutex_);
      searches_wake_.wait_for(lock, std::chrono::seconds(cluster() ? 1 : 2));
      continue;
    }
    const std::int64_t id = *next;
    unrunnable_since.erase(id);
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
    options.spread = cluster();
    SearchHooks hooks;
    hooks.cancel = &cancel_running_search_;
    hooks.progress_interval_s = 0.5;
    hooks.on_progress = [this](const SearchProgress& p) {
      std::lock_guard lock(searches_mutex_);
      running_progress_ = p;
    };
    // A failure is recorded on the search; one another node took (this node's claim lapsed)
    // is that node's now.
    auto outcome = run_stored_search(**db, id, *key, options, hooks, claim);
    ++searches_finished_;
    std::unique_lock lock(searches_mutex_);
    running_search_.reset();
    running_progress_.reset();
    // One that could not even be started (the database busy, its record refused, another node
    // took it first) is tried again in a while, not at once.
    if (!outcome) searches_wake_.wait_for(lock, std::chrono::seconds(2));
  }
}

namespace {

// Server paths never leave the server: in what a search shows, the data folder's and the
// recordings folder's absolute prefixes are cut ("uploads/upload-7.bin", "recordings/gate/...").
void strip_server_paths(json& j, const std::vector<std::string>& prefixes) {
  if (j.is_string()) {
    std::string text = j.get<std::string>();
    for (const std::string& prefix : prefixes)
      for (auto at = text.find(prefix); !prefix.empty() && at != std::string::npos; at = text.find(prefix)) text.erase(at, prefix.size());
    j = text;
  } else if (j.is_array() || j.is_object()) {
    for (auto& item : j) strip_server_paths(item, prefixes);
  }
}

// A case's results and crops are for the people on the case: whoever asked, whoever approved,
// and supervisors (who approve searches).
bool may_see_results(const Principal& who, const StoredSearch& search) {
  return who.name == search.request.requested_by || (search.approved_by && who.name == *search.approved_by) || who.has(Role::kSupervisor);
}

}  // namespace

void LiveService::register_search_routes() {
  register_upload_routes();
  const std::vector<std::string> prefixes = {recordings_dir_.parent_path().string() + "/",
                                             std::filesystem::absolute(data_dir_).lexically_normal().string() + "/", data_dir_ + "/"};
  auto shown = [prefixes](json j) {
    strip_server_paths(j, prefixes);
    return j;
  };
  // A request: multipart/form-data with the fields of docs/search.md and one or more `probe`
  // photos, decoded in memory; only their templates are kept, sealed, until the search ends.
  guarded("POST", "/api/searches", {BodyKind::kForm, kPhotoForm}, kReviewers, [this, shown](const Request& req, Response& res, const Principal& who) {
    if (req.form.empty())
      return reply_error(res, 415, "send the search as multipart/form-data: case_id, legal_basis, cameras, from, to, mode, expires "
                                   "and one or more files named probe");
    if (req.has_field("requested_by") && req.field("requested_by") != who.name)
      return reply_error(res, 400, "requested_by: searches are requested by the user logged in (" + who.name + ")");
    if (req.has_field("files"))
      return reply_error(res, 400, "files: upload recordings through /api/uploads and name them in the field uploads");
    const UnixSeconds now = now_utc();
    SearchRequest request;
    request.case_id = req.field("case_id");
    request.legal_basis = req.field("legal_basis");
    request.requested_by = who.name;
    request.cameras = comma_list(req.field("cameras"));
    std::vector<std::string> problems;
    // uploads: ids of finished uploads of the requester's own, not expired; searched whole.
    for (const std::string& text : comma_list(req.field("uploads"))) {
      std::optional<Upload> upload;
      try {
        std::lock_guard lock(service_db_mutex_);
        auto loaded = load_upload(*service_db_, std::stoll(text));
        if (loaded) upload = std::move(*loaded);
      } catch (const std::exception&) {
      }
      // Someone else's upload is not there for this requester: the same answer as none at all.
      if (!upload || upload->uploaded_by != who.name) problems.push_back("uploads: " + text + " is not an upload of yours");
      else if (!upload->sha256) problems.push_back("uploads: " + text + " is not finished (POST /api/uploads/" + text + "/finish)");
      else if (upload->expires_at <= now) problems.push_back("uploads: " + text + " has expired");
      else request.files.push_back(upload->path);
    }
    for (const char* name : {"from", "to"}) {
      if (req.field(name).empty()) continue;
      auto t = parse_time_utc(req.field(name));
      if (!t) problems.push_back(std::string(name) + ": " + t.error().message);
      else (std::string(name) == "from" ? request.window_from : request.window_to) = *t;
    }
    auto mode = SamplingMode::parse(req.field("mode").empty() ? "keyframes" : req.field("mode"));
    if (!mode) problems.push_back("mode: " + mode.error().message);
    else request.mode = *mode;
    if (req.field("expires").empty()) {
      request.expires_at = now + std::min(30, config_.search_max_days) * 86400;
    } else if (auto e = parse_date_utc(req.field("expires")); !e) {
      problems.push_back("expires: " + e.error().message);
    } else if (*e > now + static_cast<UnixSeconds>(config_.search_max_days) * 86400) {
      problems.push_back("expires: a search's results are kept at most " + std::to_string(config_.search_max_days) + " days (search_max_days)");
    } else {
      request.expires_at = *e;
    }
    request.profile = profile_.name;
    const std::vector<PhotoUpload> photos = uploaded_photos(req, "probe");
    // A case search is a list of its probe photos: its threshold follows the same rule as the
    // watchlist's, for a list of that many templates.
    // A search's tracks always have up to the default views: they share the target as they are.
    ThresholdPolicy policy = threshold_policy_;
    policy.may_use_fewer_views = false;
    request.threshold = decide_threshold(profile_, calibration_.get(), policy, std::max<std::size_t>(photos.size(), 1)).threshold;
    if (auto s = validate_search_request(request, photos.size(), now, FieldNames::kJson); !s) problems.push_back(s.error().message);
    if (!problems.empty()) return reply_error(res, 400, join_problems(problems));
    auto probes = photo_templates(photos);  // on the photo pool: two requests at a time
    if (!probes) {
      const std::string& m = probes.error().message;
      if (m.find("refused") != std::string::npos) return reply_error(res, 400, "probe " + m);
      return reply_internal(res, "search request", probes.error());
    }
    // The watchlist's key: in a cluster, a node not given it yet refuses rather than seal the
    // probe under a key of its own that no other node could open.
    Result<TemplateKey> key = Error{"no key"};
    {
      std::lock_guard entries(entries_mutex_);
      key = entry_store_->sealing_key();
    }
    if (!key) return reply_error(res, 503, "this node cannot seal the probe: " + key.error().message);
    std::lock_guard lock(service_db_mutex_);
    auto id = request_search(*service_db_, request, *probes, *key, now);
    if (!id) return reply_internal(res, "storing a search", id.error());
    auto stored = load_search(*service_db_, *id);
    if (!stored || !stored->has_value()) return reply_internal(res, "reading a search back", stored ? Error{"gone"} : stored.error());
    reply_json(res, 201, shown(search_to_json(**stored)));
  }, kPhotoPool);
  guarded("GET", "/api/searches", {}, kSearchReaders, [this, shown](const Request&, Response& res, const Principal&) {
    std::lock_guard lock(service_db_mutex_);
    auto list = list_searches_json(*service_db_);
    if (!list) return reply_internal(res, "listing searches", list.error());
    reply_json(res, 200, shown(*list));
  });
  // One search; `progress` while it runs.
  guarded("GET", "/api/searches/{int}", {}, kSearchReaders, [this, shown](const Request& req, Response& res, const Principal&) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such search");
    std::optional<StoredSearch> search;
    SearchPartsSummary parts;  // a cluster's running search: where its recordings are searched
    {
      std::lock_guard lock(service_db_mutex_);
      auto loaded = load_search(*service_db_, *id);
      if (!loaded) return reply_internal(res, "reading a search", loaded.error());
      search = std::move(*loaded);
      auto summary = summarize_search_parts(*service_db_, *id);
      if (!summary) return reply_internal(res, "reading a search's parts", summary.error());
      parts = std::move(*summary);
    }
    if (!search) return reply_error(res, 404, "no such search");
    json j = search_to_json(*search);
    if (parts.total > 0) j["parts"] = parts.to_json();
    j = shown(j);
    std::lock_guard lock(searches_mutex_);
    if (running_search_ == *id && running_progress_) j["progress"] = running_progress_->to_json();
    reply_json(res, 200, j);
  });
  guarded("POST", "/api/searches/{int}/approve", {BodyKind::kJson, kSmallJson}, kSupervisors,
          [this, shown](const Request& req, Response& res, const Principal& who) {
            const auto id = path_id(req);
            if (!id) return reply_error(res, 404, "search does not exist");
            {
              std::lock_guard lock(service_db_mutex_);
              if (auto s = approve_search(*service_db_, *id, who.name, now_utc()); !s)
                return reply_refusal(res, s.error());
              auto stored = load_search(*service_db_, *id);
              if (!stored || !stored->has_value()) return reply_internal(res, "reading a search back", stored ? Error{"gone"} : stored.error());
              reply_json(res, 200, shown(search_to_json(**stored)));
            }
            searches_wake_.notify_all();
          });
  // Cancelling is for the people on the case (requester, approver) and supervisors.
  guarded("POST", "/api/searches/{int}/cancel", {BodyKind::kJson, kSmallJson}, kReviewers,
          [this, shown](const Request& req, Response& res, const Principal& who) {
            const auto id = path_id(req);
            if (!id) return reply_error(res, 404, "search does not exist");
            {
              std::lock_guard lock(service_db_mutex_);
              auto stored = load_search(*service_db_, *id);
              if (!stored) return reply_internal(res, "reading a search", stored.error());
              if (!stored->has_value()) return reply_error(res, 404, "search " + std::to_string(*id) + " does not exist");
              if (!may_see_results(who, **stored)) {
                security_log_.denial({req.client_address, req.method, req.path, who.name, who.credential, "not_on_the_case", 403, 0, 0.0});
                return reply_error(res, 403, who.name + " may not cancel search " + std::to_string(*id) +
                                                 ": only its requester, its approver or a supervisor may");
              }
            }
            {
              std::lock_guard lock(searches_mutex_);
              if (running_search_ != *id) {
                // Running on another node: asked through the database, recorded now; its runner
                // stops at its next renewal of the claim.
                std::lock_guard db_lock(service_db_mutex_);
                auto stored = load_search(*service_db_, *id);
                if (stored && stored->has_value() && (**stored).status == "running") {
                  if (auto s = request_search_cancel(*service_db_, *id, who.name, now_utc()); !s)
                    return reply_refusal(res, s.error());
                  return reply_json(res, 202, {{"id", *id}, {"status", "cancelling"}, {"runner", (**stored).runner.value_or("")}});
                }
              }
              if (running_search_ == *id) {
                // Recorded first (no record, no cancellation); it then stops between frames and is
                // stored as cancelled, with what it found so far.
                std::lock_guard db_lock(service_db_mutex_);
                if (auto s = service_db_->transaction([&] {
                      return audit::append(*service_db_, {who.name, "search.cancel", "search/" + std::to_string(*id), json::object()}, now_utc());
                    });
                    !s)
                  return reply_internal(res, "recording the cancellation (the search goes on)", s.error());
                cancel_running_search_ = true;
                return reply_json(res, 202, {{"id", *id}, {"status", "cancelling"}});
              }
            }
            std::lock_guard lock(service_db_mutex_);
            if (auto s = cancel_search(*service_db_, *id, who.name, now_utc()); !s)
              return reply_refusal(res, s.error());
            auto stored = load_search(*service_db_, *id);
            if (!stored || !stored->has_value()) return reply_internal(res, "reading a search back", stored ? Error{"gone"} : stored.error());
            reply_json(res, 200, shown(search_to_json(**stored)));
          });
  // Where a person was seen: for the people on the case, and every read recorded.
  guarded("GET", "/api/searches/{int}/results", {}, kReviewers, [this, shown](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "no such search");
    Result<json> result = json();
    {
      std::lock_guard lock(service_db_mutex_);
      auto stored = load_search(*service_db_, *id);
      if (!stored) return reply_internal(res, "reading a search", stored.error());
      if (!stored->has_value()) return reply_error(res, 404, "no such search");
      if (!may_see_results(who, **stored)) {
        security_log_.denial({req.client_address, req.method, req.path, who.name, who.credential, "not_on_the_case", 403, 0, 0.0});
        return reply_error(res, 403, "search " + std::to_string(*id) + "'s results are for its requester, its approver and supervisors");
      }
      const std::string& status = (*stored)->status;
      if (status == "pending" || status == "approved" || status == "running")
        return reply_error(res, 409, "search " + std::to_string(*id) + " is " + status + "; its results come when it has finished");
      result = search_result_json(*service_db_, **stored);
    }
    if (!result) return reply_internal(res, "reading a search's results", result.error());
    if (!audit_read(who, "search.results.view", "search/" + std::to_string(*id), {{"visits", (*result)["visits"].size()}}, res)) return;
    reply_json(res, 200, shown(*result));
  });
  guarded("GET", "/api/searches/{int}/visits/{int}/crop", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req, 0);
    const auto ordinal = path_id(req, 1);
    if (!id || !ordinal || *ordinal > 1'000'000) return reply_error(res, 404, "no such visit");
    Result<std::optional<std::vector<unsigned char>>> jpeg = std::optional<std::vector<unsigned char>>{};
    {
      std::lock_guard lock(service_db_mutex_);
      auto stored = load_search(*service_db_, *id);
      if (!stored) return reply_internal(res, "reading a search", stored.error());
      if (!stored->has_value()) return reply_error(res, 404, "no such visit");
      if (!may_see_results(who, **stored)) {
        security_log_.denial({req.client_address, req.method, req.path, who.name, who.credential, "not_on_the_case", 403, 0, 0.0});
        return reply_error(res, 403, "search " + std::to_string(*id) + "'s crops are for its requester, its approver and supervisors");
      }
      jpeg = visit_crop(*service_db_, *id, static_cast<int>(*ordinal));
    }
    if (!jpeg) return reply_internal(res, "reading a crop", jpeg.error());
    if (!jpeg->has_value()) return reply_error(res, 404, "no crop for this visit (unknown, or the search has expired)");
    if (!audit_read(who, "search.crop.view", "search/" + std::to_string(*id), {{"visit", *ordinal}}, res)) return;
    res.set_content(std::string((*jpeg)->begin(), (*jpeg)->end()), "image/jpeg");
  });
}

void LiveService::register_upload_routes() {
  // Recordings for a search arrive in chunks, each within the request size limit, appended at
  // the offset the server holds; the client finishes with the file's SHA-256, which is checked.
  guarded("POST", "/api/uploads", {BodyKind::kJson, kSmallJson}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto name = string_member(*body, "name", true, 200);
    if (!name || !printable_text(**name)) return reply_error(res, 400, "name: give the recording's file name (printable text, at most 200 bytes)");
    if (below_disk_floor()) return reply_error(res, 507, "the service is low on disk space; uploads are paused");
    const UnixSeconds now = now_utc();
    std::lock_guard lock(service_db_mutex_);
    auto upload = create_upload(*service_db_, **name, (std::filesystem::path(data_dir_) / "uploads").string(), who.name, now,
                                now + static_cast<UnixSeconds>(config_.upload_retention_days) * 86400);
    if (!upload) {
      if (upload.error().message.find("name must") != std::string::npos) return reply_error(res, 400, upload.error().message);
      return reply_internal(res, "creating an upload", upload.error());
    }
    reply_json(res, 201, upload->to_json());
  });
  // One's own uploads: after a reload or a lost connection, a client finds where to go on from.
  guarded("GET", "/api/uploads", {}, kReviewers, [this](const Request&, Response& res, const Principal& who) {
    std::lock_guard lock(service_db_mutex_);
    auto uploads = list_uploads(*service_db_, who.name, now_utc());
    if (!uploads) return reply_internal(res, "listing uploads", uploads.error());
    json list = json::array();
    for (const Upload& u : *uploads) list.push_back(u.to_json());
    reply_json(res, 200, list);
  });
  guarded("GET", "/api/uploads/{int}", {}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    std::lock_guard lock(service_db_mutex_);
    auto upload = id ? load_upload(*service_db_, *id) : Result<std::optional<Upload>>(std::optional<Upload>{});
    if (!upload) return reply_internal(res, "reading an upload", upload.error());
    // Someone else's upload is not there for this user: the same answer as none at all.
    if (!upload->has_value() || (*upload)->uploaded_by != who.name) return reply_error(res, 404, "no such upload of yours");
    reply_json(res, 200, (*upload)->to_json());
  });
  guarded("PUT", "/api/uploads/{int}", {BodyKind::kBinary, kUploadChunk}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "upload does not exist");
    std::int64_t offset = -1;
    try {
      std::size_t used = 0;
      const std::string text = req.header("Upload-Offset");
      offset = std::stoll(text, &used);
      if (used != text.size() || offset < 0) throw std::invalid_argument("offset");
    } catch (const std::exception&) {
      return reply_error(res, 400, "Upload-Offset: give the byte offset of this chunk (the upload's size so far)");
    }
    // Stop before SQLite and the recorders run out of room.
    if (below_disk_floor()) return reply_error(res, 507, "the service is low on disk space; uploads are paused (send this chunk again later)");
    const UploadLimits limits{config_.upload_max_mb << 20, config_.upload_quota_mb << 20};
    std::lock_guard lock(service_db_mutex_);
    auto upload = append_upload(*service_db_, *id, offset, req.body, who.name, limits);
    if (!upload) {
      const std::string& m = upload.error().message;
      if (m.find("quota") != std::string::npos) return reply_error(res, 413, m);
      if (m.find("disk full") != std::string::npos) return reply_error(res, 507, m);
      if (m.find("does not exist") != std::string::npos || m.find("other than") != std::string::npos || m.find("offset") != std::string::npos ||
          m.find("finished") != std::string::npos)
        return reply_refusal(res, Error{m});
      return reply_internal(res, "appending to an upload", upload.error());
    }
    reply_json(res, 200, upload->to_json());
  }, kFilePool);
  guarded("POST", "/api/uploads/{int}/finish", {BodyKind::kJson, kSmallJson}, kReviewers, [this](const Request& req, Response& res, const Principal& who) {
    const auto id = path_id(req);
    if (!id) return reply_error(res, 404, "upload does not exist");
    auto body = parse_json_object(req);
    if (!body) return reply_error(res, 400, body.error().message);
    auto sha256 = string_member(*body, "sha256", true, 64);
    if (!sha256) return reply_error(res, 400, "sha256: give the SHA-256 of the whole file (lower-case hex)");
    Result<Upload> upload = Error{"not read"};
    {
      std::lock_guard lock(service_db_mutex_);
      upload = upload_to_finish(*service_db_, *id, who.name);
    }
    if (!upload) return reply_error(res, refusal_status(upload.error().message), upload.error().message);
    // Hashing a large file takes seconds: no lock is held meanwhile (commit_finish checks that
    // nothing was appended since), on the file pool.
    auto digest = sha256_file(upload->path);
    if (!digest) return reply_internal(res, "hashing an upload", digest.error());
    if (*digest != **sha256)
      return reply_error(res, 400, "upload " + std::to_string(*id) + ": the file's SHA-256 is " + *digest + ", not " + **sha256 +
                                       "; the upload is incomplete or damaged");
    // What a search will open must be a recording, whatever the file is called.
    if (auto s = check_recording_container(upload->path); !s) return reply_error(res, 415, "upload " + std::to_string(*id) + ": " + s.error().message);
    std::lock_guard lock(service_db_mutex_);
    auto finished = commit_finish(*service_db_, *upload, **sha256, who.name, now_utc());
    if (!finished) {
      if (finished.error().message.find("changed while") != std::string::npos) return reply_error(res, 409, finished.error().message);
      return reply_internal(res, "finishing an upload", finished.error());
    }
    reply_json(res, 200, finished->to_json());
  }, kFilePool);
}

}  // namespace glassbox
