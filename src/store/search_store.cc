#include "store/search_store.h"

#include "core/dates.h"
#include "core/json_text.h"
#include "ingest/camera_config.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "audit/audit_log.h"
#include "store/search_parts.h"

namespace glassbox {
namespace {

nlohmann::json parse_array(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_array() ? j : nlohmann::json::array();
}

std::vector<std::string> strings(const nlohmann::json& array) {
  std::vector<std::string> out;
  for (const auto& v : array)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}


std::string object_of(std::int64_t id) { return "search/" + std::to_string(id); }

// Moves a search from one of `from` to `to`; an error when it is in another state.
Status set_status(Database& db, std::int64_t id, const std::vector<std::string>& from, const std::string& to, UnixSeconds now,
                  bool finished) {
  auto current = load_search(db, id);
  if (!current) return current.error();
  if (!current->has_value()) return Error{"search " + std::to_string(id) + " does not exist"};
  const std::string& status = (*current)->status;
  if (std::find(from.begin(), from.end(), status) == from.end())
    return Error{"search " + std::to_string(id) + " is " + status + ", not " + from.front()};
  auto s = db.prepare(finished ? "UPDATE searches SET status = ?, finished_at = ? WHERE id = ?" : "UPDATE searches SET status = ? WHERE id = ?");
  s->bind(1, to);
  if (finished) s->bind(2, now);
  s->bind(finished ? 3 : 2, id);
  if (auto st = run(*s); !st) return st.error().within("cannot change search " + std::to_string(id));
  return ok_status();
}

// What a search holds only while it can run — its probes, and its parts' hits (docs/cluster.md)
// — goes when it ends, in the transaction that ends it.
Status delete_run_state(Database& db, std::int64_t id) {
  auto s = db.prepare("DELETE FROM search_probes WHERE search_id = ?");
  s->bind(1, id);
  if (auto st = run(*s); !st) return st.error().within("cannot delete the probes of search " + std::to_string(id));
  return delete_search_parts(db, id);
}


}  // namespace

Status validate_search_request(const SearchRequest& r, std::size_t probes, UnixSeconds now, FieldNames names) {
  std::vector<std::string> problems;
  check_text(field_name("case", names), r.case_id, 128, problems);
  check_text(field_name("legal-basis", names), r.legal_basis, 2000, problems);
  if (auto s = validate_user_name(field_name("requested-by", names), r.requested_by); !s) problems.push_back(s.error().message);
  if (r.cameras.empty() && r.files.empty())
    problems.push_back(names == FieldNames::kOptions ? "give recordings to search: files, or --camera with --from and --to"
                                                     : "cameras or uploads: give at least one");
  for (const std::string& c : r.cameras)
    if (!valid_camera_name(c)) problems.push_back(field_name("camera", names) + " '" + c + "' is not a camera name");
  if (!r.cameras.empty() && (!r.window_from || !r.window_to))
    problems.push_back("a search of cameras needs a time window: " + field_name("from", names) + " and " + field_name("to", names));
  if (r.window_from && r.window_to && *r.window_from >= *r.window_to)
    problems.push_back(field_name("from", names) + " must be before " + field_name("to", names));
  if (r.cameras.empty() && !r.files.empty() && (r.window_from || r.window_to))
    problems.push_back(field_name("from", names) + "/" + field_name("to", names) + " apply to cameras; a file is searched whole");
  if (r.expires_at <= now) problems.push_back(field_name("expires", names) + " must be in the future");
  if (probes == 0) problems.push_back(field_name("probe", names) + ": give at least one photo of the person sought");
  if (probes > 20) problems.push_back(field_name("probe", names) + ": at most 20 photos");
  if (problems.empty()) return ok_status();
  return Error{join_problems(problems)};
}

Result<std::int64_t> request_search(Database& db, const SearchRequest& r, const std::vector<EntryTemplate>& probes,
                                    const TemplateKey& key, UnixSeconds now) {
  std::int64_t id = 0;
  Status done = db.transaction([&]() -> Status {
    auto s = db.prepare("INSERT INTO searches (case_id, legal_basis, requested_by, requested_at, cameras, files, window_from, window_to, "
                      "mode, profile, threshold, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') RETURNING id");
    s->bind(1, r.case_id);
    s->bind(2, r.legal_basis);
    s->bind(3, r.requested_by);
    s->bind(4, now);
    s->bind(5, nlohmann::json(r.cameras).dump());
    s->bind(6, to_json_text(nlohmann::json(r.files)));
    if (r.window_from) s->bind(7, *r.window_from);
    if (r.window_to) s->bind(8, *r.window_to);
    s->bind(9, r.mode.text());
    s->bind(10, r.profile);
    s->bind_real(11, r.threshold);
    s->bind(12, r.expires_at);
    if (auto st = run(*s); !st) return st.error().within("cannot store the search");
    id = s->int64(0);
    for (const EntryTemplate& p : probes) {
      auto insert = db.prepare("INSERT INTO search_probes (search_id, key_id, sealed, photo_name, photo_sha256) VALUES (?, ?, ?, ?, ?)");
      insert->bind(1, id);
      insert->bind(2, key.id());
      insert->bind_bytes(3, key.seal_probe(p.vector, id, r.profile));
      insert->bind(4, p.photo_name);
      insert->bind(5, p.photo_sha256);
      if (auto st = run(*insert); !st) return st.error().within("cannot store a probe");
    }
    nlohmann::json details = {{"case", r.case_id},          {"legal_basis", r.legal_basis}, {"cameras", r.cameras},
                              {"files", r.files},           {"mode", r.mode.text()},        {"profile", r.profile},
                              {"expires", format_utc(r.expires_at)}, {"probes", probes.size()}};
    details["from"] = r.window_from ? nlohmann::json(format_utc(*r.window_from)) : nlohmann::json(nullptr);
    details["to"] = r.window_to ? nlohmann::json(format_utc(*r.window_to)) : nlohmann::json(nullptr);
    nlohmann::json photos = nlohmann::json::array();
    for (const EntryTemplate& p : probes) photos.push_back({{"name", p.photo_name}, {"sha256", p.photo_sha256}});
    details["probe_photos"] = photos;
    return audit::append(db, {r.requested_by, "search.request", object_of(id), details}, now);
  });
  if (!done) return done.error();
  return id;
}

Status approve_search(Database& db, std::int64_t id, const std::string& approver, UnixSeconds now) {
  return db.transaction([&]() -> Status {
    auto search = load_search(db, id);
    if (!search) return search.error();
    if (!search->has_value()) return Error{"search " + std::to_string(id) + " does not exist"};
    const StoredSearch& s = **search;
    if (s.request.requested_by == approver)
      return Error{"search " + std::to_string(id) + ": approval must come from someone other than its requester (" + approver + ")"};
    if (s.status != "pending") return Error{"search " + std::to_string(id) + " is " + s.status + ", not pending"};
    if (s.request.expires_at <= now) return Error{"search " + std::to_string(id) + " has expired"};
    auto u = db.prepare("UPDATE searches SET status = 'approved', approved_by = ?, approved_at = ? WHERE id = ?");
    u->bind(1, approver);
    u->bind(2, now);
    u->bind(3, id);
    if (auto st = run(*u); !st) return st.error().within("cannot approve search " + std::to_string(id));
    return audit::append(db, {approver, "search.approve", object_of(id), {{"case", s.request.case_id}}}, now);
  });
}

std::int64_t unix_ms_now() { return now_utc_ms(); }

namespace {

// A stale runner — whose claim ran out and was taken by another node — writes nothing.
Status check_runner(Database& db, std::int64_t id, const SearchClaim& claim) {
  auto s = db.prepare("SELECT runner FROM searches WHERE id = ? AND status = 'running'");
  s->bind(1, id);
  auto found = next_row(*s, "cannot read search " + std::to_string(id));
  if (!found) return found.error();
  if (!*found) return ok_status();  // not running: set_status says so
  const std::string runner = s->is_null(0) ? std::string() : s->text(0);
  if (runner != claim.node)
    return Error{"search " + std::to_string(id) + " is now run by node " + runner + ": node " + claim.node +
                 "'s claim on it ran out, and its result is not stored"};
  return ok_status();
}

}  // namespace

Status start_search(Database& db, std::int64_t id, UnixSeconds now, const SearchClaim& claim) {
  return db.transaction([&]() -> Status {
    auto before = load_search(db, id);
    if (!before) return before.error();
    if (!before->has_value()) return Error{"search " + std::to_string(id) + " does not exist"};
    const std::int64_t now_ms = unix_ms_now();
    // Approved, or running under a claim that ran out (its runner died): decided on the row.
    auto take = db.prepare(
        "UPDATE searches SET status = 'running', runner = ?1, runner_until_ms = ?2, runs = runs + 1, cancel_requested_by = NULL "
        "WHERE id = ?3 AND expired = 0 AND (status = 'approved' OR (status = 'running' AND coalesce(runner_until_ms, 0) <= ?4)) "
        "RETURNING runs");
    take->bind(1, claim.node);
    take->bind(2, now_ms + claim.claim_ms);
    take->bind(3, id);
    take->bind(4, now_ms);
    auto taken = next_row(*take, "cannot start search " + std::to_string(id));
    if (!taken) return taken.error();
    const StoredSearch& was = **before;
    if (!*taken) {
      if (was.status == "running")
        return Error{"search " + std::to_string(id) + " is running on node " + was.runner.value_or("?")};
      return Error{"search " + std::to_string(id) + " is " + was.status + ", not approved"};
    }
    nlohmann::json details = {{"node", claim.node}};
    if (was.status == "running") {
      details["run"] = take->int64(0);
      details["taken_from"] = was.runner.value_or("?");
    }
    take.reset();
    return audit::append(db, {"system", "search.run", object_of(id), details}, now);
  });
}

Result<ClaimState> renew_search(Database& db, std::int64_t id, const SearchClaim& claim) {
  auto renew = db.prepare("UPDATE searches SET runner_until_ms = ?1 WHERE id = ?2 AND status = 'running' AND runner = ?3 RETURNING cancel_requested_by");
  renew->bind(1, unix_ms_now() + claim.claim_ms);
  renew->bind(2, id);
  renew->bind(3, claim.node);
  auto found = next_row(*renew, "cannot renew the claim on search " + std::to_string(id));
  if (!found) return found.error();
  ClaimState state;
  state.ours = *found;
  state.cancel_requested = *found && !renew->is_null(0);
  return state;
}

Status request_search_cancel(Database& db, std::int64_t id, const std::string& actor, UnixSeconds now) {
  return db.transaction([&]() -> Status {
    auto ask = db.prepare("UPDATE searches SET cancel_requested_by = ? WHERE id = ? AND status = 'running' RETURNING id");
    ask->bind(1, actor);
    ask->bind(2, id);
    auto found = next_row(*ask, "cannot ask for search " + std::to_string(id) + " to be cancelled");
    if (!found) return found.error();
    if (!*found) return Error{"search " + std::to_string(id) + " is not running"};
    ask.reset();
    return audit::append(db, {actor, "search.cancel", object_of(id), nlohmann::json::object()}, now);
  });
}

Result<int> release_searches(Database& db, const std::string& node) {
  // The parts of other nodes' searches it was searching go too.
  auto parts = db.prepare("UPDATE search_parts SET runner_until_ms = 0 WHERE state = 'running' AND runner = ?");
  parts->bind(1, node);
  if (auto st = run(*parts); !st) return st.error().within("cannot let go of node " + node + "'s search parts");
  auto release = db.prepare("UPDATE searches SET runner_until_ms = 0 WHERE status = 'running' AND runner = ? RETURNING id");
  release->bind(1, node);
  return count_rows(*release, "cannot let go of node " + node + "'s searches");
}

Status cancel_search(Database& db, std::int64_t id, const std::string& actor, UnixSeconds now) {
  return db.transaction([&]() -> Status {
    if (auto s = set_status(db, id, {"pending", "approved"}, "cancelled", now, true); !s) return s;
    if (auto s = delete_run_state(db, id); !s) return s;
    return audit::append(db, {actor, "search.cancel", object_of(id), nlohmann::json::object()}, now);
  });
}

Status finish_search(Database& db, std::int64_t id, const SearchOutcome& outcome, UnixSeconds now, const SearchClaim& claim) {
  const std::string status = outcome.cancelled ? "cancelled" : "done";
  return db.transaction([&]() -> Status {
    if (auto s = check_runner(db, id, claim); !s) return s;
    if (auto s = set_status(db, id, {"running"}, status, now, true); !s) return s;
    int ordinal = 0;
    for (const Visit& v : outcome.visits) {
      auto insert = db.prepare("INSERT INTO search_visits (search_id, ordinal, source, camera, start_s, end_s, start_ms, end_ms, best_score, "
                             "best_at_s, hits, crop) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert->bind(1, id);
      insert->bind(2, static_cast<std::int64_t>(++ordinal));
      insert->bind(3, v.source);
      if (!v.camera.empty()) insert->bind(4, v.camera);
      insert->bind_real(5, v.start_s);
      insert->bind_real(6, v.end_s);
      if (v.start_ms) insert->bind(7, *v.start_ms);
      if (v.end_ms) insert->bind(8, *v.end_ms);
      insert->bind_real(9, v.best_score);
      insert->bind_real(10, v.best_at_s);
      insert->bind(11, static_cast<std::int64_t>(v.hits));
      std::vector<unsigned char> jpeg;
      if (!v.crop.empty() && cv::imencode(".jpg", v.crop, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90})) insert->bind_bytes(12, jpeg);
      if (auto st = run(*insert); !st) return st.error().within("cannot store a visit");
    }
    nlohmann::json errors = nlohmann::json::array();
    for (const RecordingError& e : outcome.errors) errors.push_back({{"recording", e.recording}, {"error", e.error}});
    auto u = db.prepare("UPDATE searches SET stats = ?, errors = ? WHERE id = ?");
    u->bind(1, to_json_text(outcome.stats.to_json()));
    u->bind(2, to_json_text(errors));
    u->bind(3, id);
    if (auto st = run(*u); !st) return st.error().within("cannot store the result of search " + std::to_string(id));
    if (auto s = delete_run_state(db, id); !s) return s;
    return audit::append(db,
                         {"system", "search.finish", object_of(id),
                          {{"status", status},
                           {"visits", outcome.visits.size()},
                           {"errors", outcome.errors.size()},
                           {"footage_s", outcome.stats.footage_s},
                           {"faces_compared", outcome.stats.faces_compared}}},
                         now);
  });
}

Status fail_search(Database& db, std::int64_t id, const std::string& reason, UnixSeconds now, const std::optional<SearchClaim>& claim) {
  return db.transaction([&]() -> Status {
    if (claim)
      if (auto s = check_runner(db, id, *claim); !s) return s;
    if (auto s = set_status(db, id, {"running", "approved"}, "failed", now, true); !s) return s;
    auto u = db.prepare("UPDATE searches SET errors = ? WHERE id = ?");
    u->bind(1, to_json_text(nlohmann::json::array({{{"recording", nullptr}, {"error", reason}}})));
    u->bind(2, id);
    if (auto st = run(*u); !st) return st.error().within("cannot record the failure of search " + std::to_string(id));
    if (auto s = delete_run_state(db, id); !s) return s;
    return audit::append(db, {"system", "search.finish", object_of(id), {{"status", "failed"}, {"error", reason}}}, now);
  });
}

Result<int> expire_searches(Database& db, UnixSeconds now) {
  std::vector<std::int64_t> ids;
  {
    auto s = db.prepare("SELECT id FROM searches WHERE expired = 0 AND expires_at <= ? ORDER BY id");
    s->bind(1, now);
    if (auto st = for_each_row(*s, "cannot list the searches", [&] { ids.push_back(s->int64(0)); return ok_status(); }); !st) return st.error();
  }
  for (std::int64_t id : ids) {
    Status done = db.transaction([&]() -> Status {
      auto visits = db.prepare("DELETE FROM search_visits WHERE search_id = ? RETURNING ordinal");
      visits->bind(1, id);
      auto deleted = count_rows(*visits, "cannot delete the visits of search " + std::to_string(id));
      if (!deleted) return deleted.error();
      if (auto s = delete_run_state(db, id); !s) return s;
      // A search that never ran cannot run any more: it is cancelled by its expiry.
      auto u = db.prepare("UPDATE searches SET expired = 1, status = CASE WHEN status IN ('pending', 'approved') THEN 'cancelled' "
                        "ELSE status END, finished_at = coalesce(finished_at, ?) WHERE id = ?");
      u->bind(1, now);
      u->bind(2, id);
      if (auto st = run(*u); !st) return st.error().within("cannot expire search " + std::to_string(id));
      return audit::append(db, {"system", "search.expire", object_of(id), {{"visits_deleted", *deleted}}}, now);
    });
    if (!done) return done.error();
  }
  return static_cast<int>(ids.size());
}

Result<std::optional<StoredSearch>> load_search(Database& db, std::int64_t id) {
  auto s = db.prepare("SELECT case_id, legal_basis, requested_by, requested_at, approved_by, approved_at, cameras, files, window_from, "
                    "window_to, mode, profile, threshold, expires_at, status, finished_at, expired, stats, errors, runner, runs, "
                    "cancel_requested_by FROM searches WHERE id = ?");
  s->bind(1, id);
  auto found = next_row(*s, "cannot read search " + std::to_string(id));
  if (!found) return found.error();
  if (!*found) return std::optional<StoredSearch>{};
  StoredSearch out;
  out.id = id;
  SearchRequest& r = out.request;
  r.case_id = s->text(0);
  r.legal_basis = s->text(1);
  r.requested_by = s->text(2);
  out.requested_at = s->int64(3);
  if (!s->is_null(4)) out.approved_by = s->text(4);
  if (!s->is_null(5)) out.approved_at = s->int64(5);
  r.cameras = strings(parse_array(s->text(6)));
  r.files = strings(parse_array(s->text(7)));
  if (!s->is_null(8)) r.window_from = s->int64(8);
  if (!s->is_null(9)) r.window_to = s->int64(9);
  auto mode = SamplingMode::parse(s->text(10));
  if (mode) r.mode = *mode;
  r.profile = s->text(11);
  r.threshold = s->real(12);
  r.expires_at = s->int64(13);
  out.status = s->text(14);
  if (!s->is_null(15)) out.finished_at = s->int64(15);
  out.expired = s->int64(16) != 0;
  out.stats = nlohmann::json::parse(s->text(17), nullptr, false);
  out.errors = parse_array(s->text(18));
  if (!s->is_null(19)) out.runner = s->text(19);
  out.runs = static_cast<int>(s->int64(20));
  if (!s->is_null(21)) out.cancel_requested_by = s->text(21);
  return std::optional<StoredSearch>{std::move(out)};
}

Result<std::vector<std::int64_t>> approved_searches(Database& db) {
  auto s = db.prepare("SELECT id FROM searches WHERE status = 'approved' AND expired = 0 ORDER BY approved_at, id");
  std::vector<std::int64_t> ids;
  if (auto st = for_each_row(*s, "cannot list the searches", [&] { ids.push_back(s->int64(0)); return ok_status(); }); !st) return st.error();
  return ids;
}

Result<std::vector<std::int64_t>> searches_to_run(Database& db, std::int64_t now_ms) {
  auto s = db.prepare(
      "SELECT id FROM searches WHERE expired = 0 AND (status = 'approved' OR (status = 'running' AND coalesce(runner_until_ms, 0) <= ?)) "
      "ORDER BY approved_at, id");
  s->bind(1, now_ms);
  std::vector<std::int64_t> ids;
  if (auto st = for_each_row(*s, "cannot list the searches", [&] { ids.push_back(s->int64(0)); return ok_status(); }); !st) return st.error();
  return ids;
}

Result<std::vector<std::vector<float>>> probe_templates(Database& db, std::int64_t id, const TemplateKey& key) {
  auto search = load_search(db, id);
  if (!search) return search.error();
  if (!search->has_value()) return Error{"search " + std::to_string(id) + " does not exist"};
  auto s = db.prepare("SELECT sealed FROM search_probes WHERE search_id = ?");
  s->bind(1, id);
  std::vector<std::vector<float>> out;
  auto opened = for_each_row(*s, "cannot read the probes of search " + std::to_string(id), [&]() -> Status {
    auto vector = key.open_probe(s->bytes(0), id, (*search)->request.profile);
    if (!vector) return vector.error();
    out.push_back(std::move(*vector));
    return ok_status();
  });
  if (!opened) return opened.error();
  if (out.empty()) return Error{"search " + std::to_string(id) + " has no probe (it has ended)"};
  return out;
}

nlohmann::json search_to_json(const StoredSearch& s) {
  const SearchRequest& r = s.request;
  nlohmann::json j = {{"id", s.id},
                      {"case", r.case_id},
                      {"legal_basis", r.legal_basis},
                      {"requested_by", r.requested_by},
                      {"requested_at", format_utc(s.requested_at)},
                      {"approved_by", json_or_null(s.approved_by)},
                      {"cameras", r.cameras},
                      {"files", r.files},
                      {"mode", r.mode.text()},
                      {"profile", r.profile},
                      {"threshold", r.threshold},
                      {"expires", format_utc(r.expires_at)},
                      {"status", s.status},
                      {"expired", s.expired},
                      {"stats", s.stats},
                      {"errors", s.errors.size()},
                      {"runs", s.runs}};
  j["runner"] = json_or_null(s.runner);
  j["approved_at"] = s.approved_at ? nlohmann::json(format_utc(*s.approved_at)) : nlohmann::json(nullptr);
  j["finished_at"] = s.finished_at ? nlohmann::json(format_utc(*s.finished_at)) : nlohmann::json(nullptr);
  j["from"] = r.window_from ? nlohmann::json(format_utc(*r.window_from)) : nlohmann::json(nullptr);
  j["to"] = r.window_to ? nlohmann::json(format_utc(*r.window_to)) : nlohmann::json(nullptr);
  return j;
}

Result<nlohmann::json> list_searches_json(Database& db) {
  std::vector<std::int64_t> ids;
  {
    auto s = db.prepare("SELECT id FROM searches ORDER BY id");
    if (auto st = for_each_row(*s, "cannot list the searches", [&] { ids.push_back(s->int64(0)); return ok_status(); }); !st) return st.error();
  }
  nlohmann::json out = nlohmann::json::array();
  for (std::int64_t id : ids) {
    auto search = load_search(db, id);
    if (!search) return search.error();
    if (search->has_value()) out.push_back(search_to_json(**search));
  }
  return out;
}

Result<nlohmann::json> search_result_json(Database& db, const StoredSearch& search) {
  nlohmann::json j = {{"search", search.id},          {"case", search.request.case_id}, {"status", search.status},
                      {"mode", search.request.mode.text()}, {"profile", search.request.profile},
                      {"threshold", search.request.threshold}, {"expires", format_utc(search.request.expires_at)},
                      {"expired", search.expired},    {"errors", search.errors},         {"stats", search.stats}};
  nlohmann::json visits = nlohmann::json::array();
  auto s = db.prepare("SELECT ordinal, source, camera, start_s, end_s, start_ms, end_ms, best_score, best_at_s, hits, crop IS NOT NULL "
                    "FROM search_visits WHERE search_id = ? ORDER BY ordinal");
  s->bind(1, search.id);
  auto read = for_each_row(*s, "cannot read the visits of search " + std::to_string(search.id), [&]() -> Status {
    nlohmann::json v = {{"visit", s->int64(0)},      {"source", s->text(1)},      {"start_s", s->real(3)},
                        {"end_s", s->real(4)},       {"best_score", s->real(7)},  {"best_at_s", s->real(8)},
                        {"hits", s->int64(9)},       {"has_crop", s->int64(10) != 0}};
    v["camera"] = s->is_null(2) ? nlohmann::json(nullptr) : nlohmann::json(s->text(2));
    v["start"] = s->is_null(5) ? nlohmann::json(nullptr) : nlohmann::json(format_utc_ms(s->int64(5)));
    v["end"] = s->is_null(6) ? nlohmann::json(nullptr) : nlohmann::json(format_utc_ms(s->int64(6)));
    visits.push_back(std::move(v));
    return ok_status();
  });
  if (!read) return read.error();
  j["visits"] = std::move(visits);
  // The names the uploaded recordings were given, while the uploads are kept: visits and errors
  // name the stored file, which means nothing to the people on the case.
  nlohmann::json uploads = nlohmann::json::array();
  auto u = db.prepare("SELECT id, name FROM uploads WHERE path = ?");
  for (const std::string& file : search.request.files) {
    u->reset();
    u->bind(1, file);
    auto found = next_row(*u, "cannot read the uploads of search " + std::to_string(search.id));
    if (!found) return found.error();
    if (*found) uploads.push_back({{"file", file}, {"id", u->int64(0)}, {"name", u->text(1)}});
  }
  j["uploads"] = std::move(uploads);
  return j;
}

Result<std::optional<std::vector<unsigned char>>> visit_crop(Database& db, std::int64_t id, int ordinal) {
  auto s = db.prepare("SELECT crop FROM search_visits WHERE search_id = ? AND ordinal = ? AND crop IS NOT NULL");
  s->bind(1, id);
  s->bind(2, static_cast<std::int64_t>(ordinal));
  auto found = next_row(*s, "cannot read a crop of search " + std::to_string(id));
  if (!found) return found.error();
  if (!*found) return std::optional<std::vector<unsigned char>>{};
  return std::optional<std::vector<unsigned char>>{s->bytes(0)};
}

Result<std::int64_t> add_segment(Database& db, const std::string& camera, const std::string& path, std::int64_t start_ms,
                                 const std::optional<WriteFence>& fence) {
  if (fence && db.dialect() != Dialect::kPostgres) return Error{"a fenced write needs the cluster's PostgreSQL database"};
  // A fenced segment names its node (?5): the node that can read it without shared storage.
  auto s = db.prepare(std::string("INSERT INTO recording_segments (camera, path, start_ms, node) SELECT ?1, ?2, ?3, ") +
                      (fence ? "?5 WHERE " + CameraLeases::fence_sql(4) : std::string("NULL")) + " RETURNING id");
  s->bind(1, camera);
  s->bind(2, path);
  s->bind(3, start_ms);
  if (fence) {
    s->bind(4, camera);
    s->bind(5, fence->node);
    s->bind(6, fence->epoch);
  }
  auto step = s->step();
  if (!step) return step.error().within("cannot index segment " + path);
  if (*step == Step::kDone) return CameraLeases::fenced_error("the segment " + path, camera, fence.value_or(WriteFence{}));
  return s->int64(0);
}

Status complete_segment(Database& db, std::int64_t id, std::int64_t end_ms, std::int64_t bytes) {
  // No end before the start (a clock step back): the larger of the two, said in SQL both engines know.
  auto s = db.prepare("UPDATE recording_segments SET end_ms = CASE WHEN ?1 > start_ms THEN ?1 ELSE start_ms END, bytes = ?2 WHERE id = ?3");
  s->bind(1, end_ms);
  s->bind(2, bytes);
  s->bind(3, id);
  if (auto st = run(*s); !st) return st.error().within("cannot complete segment " + std::to_string(id));
  return ok_status();
}

Status drop_segment(Database& db, std::int64_t id) {
  auto s = db.prepare("DELETE FROM recording_segments WHERE id = ?");
  s->bind(1, id);
  if (auto st = run(*s); !st) return st.error().within("cannot drop segment " + std::to_string(id));
  return ok_status();
}

namespace {

Result<std::vector<RecordedSegment>> read_segments(Statement& s) {
  std::vector<RecordedSegment> out;
  auto read = for_each_row(s, "cannot read the segment index", [&] {
    RecordedSegment seg;
    seg.id = s.int64(0);
    seg.camera = s.text(1);
    seg.path = s.text(2);
    seg.start_ms = s.int64(3);
    if (!s.is_null(4)) seg.end_ms = s.int64(4);
    seg.bytes = s.int64(5);
    if (!s.is_null(6)) seg.node = s.text(6);
    out.push_back(std::move(seg));
    return ok_status();
  });
  if (!read) return read.error();
  return out;
}

constexpr const char* kSegmentColumns = "SELECT id, camera, path, start_ms, end_ms, bytes, node FROM recording_segments ";

}  // namespace

Result<std::vector<RecordedSegment>> segments_in_window(Database& db, const std::string& camera, std::int64_t from_ms,
                                                        std::int64_t to_ms) {
  auto s = db.prepare((std::string(kSegmentColumns) +
                                  "WHERE camera = ? AND end_ms IS NOT NULL AND end_ms > ? AND start_ms < ? ORDER BY start_ms"));
  s->bind(1, camera);
  s->bind(2, from_ms);
  s->bind(3, to_ms);
  return read_segments(*s);
}

Result<std::vector<RecordedSegment>> unfinished_segments(Database& db) {
  auto s = db.prepare((std::string(kSegmentColumns) + "WHERE end_ms IS NULL ORDER BY id"));
  return read_segments(*s);
}

Result<std::vector<RecordedSegment>> segments_to_purge(Database& db, const std::string& camera, std::int64_t before_ms) {
  auto s = db.prepare((std::string(kSegmentColumns) + "WHERE camera = ? AND end_ms IS NOT NULL AND end_ms < ? ORDER BY start_ms"));
  s->bind(1, camera);
  s->bind(2, before_ms);
  return read_segments(*s);
}

Status remove_purged_segments(Database& db, const std::string& camera, const std::vector<RecordedSegment>& purged, UnixSeconds now) {
  if (purged.empty()) return ok_status();
  return db.transaction([&]() -> Status {
    std::int64_t bytes = 0;
    for (const RecordedSegment& seg : purged) {
      auto d = db.prepare("DELETE FROM recording_segments WHERE id = ?");
      d->bind(1, seg.id);
      if (auto st = run(*d); !st) return st.error().within("cannot remove segment " + seg.path);
      bytes += seg.bytes;
    }
    return audit::append(db,
                         {"system", "recording.purge", "camera/" + camera,
                          {{"segments", purged.size()},
                           {"bytes", bytes},
                           {"from", format_utc_ms(purged.front().start_ms)},
                           {"to", format_utc_ms(*purged.back().end_ms)}}},
                         now);
  });
}

Result<std::vector<SearchRecording>> camera_recordings(Database& db, const std::vector<std::string>& cameras, UnixSeconds from,
                                                       UnixSeconds to) {
  std::vector<SearchRecording> out;
  const std::int64_t from_ms = from * 1000;
  const std::int64_t to_ms = to * 1000;
  for (const std::string& camera : cameras) {
    auto segments = segments_in_window(db, camera, from_ms, to_ms);
    if (!segments) return segments.error();
    for (const RecordedSegment& seg : *segments) {
      SearchRecording r;
      r.source = camera;
      r.camera = camera;
      r.path = seg.path;
      r.start_ms = seg.start_ms;
      r.recorded_by = seg.node;
      r.duration_s = static_cast<double>(*seg.end_ms - seg.start_ms) / 1000.0;
      r.from_s = std::max(0.0, static_cast<double>(from_ms - seg.start_ms) / 1000.0);
      if (to_ms < *seg.end_ms) r.to_s = static_cast<double>(to_ms - seg.start_ms) / 1000.0;
      out.push_back(std::move(r));
    }
  }
  return out;
}

nlohmann::json Upload::to_json() const {
  nlohmann::json j = {{"id", id},         {"name", name},   {"bytes", bytes}, {"uploaded_by", uploaded_by},
                      {"created_at", format_utc(created_at)}, {"expires", format_utc(expires_at)}, {"finished", sha256.has_value()}};
  j["sha256"] = json_or_null(sha256);
  return j;
}

namespace {

constexpr const char* kUploadColumns = "id, name, path, bytes, sha256, uploaded_by, created_at, expires_at";

Upload upload_from_row(const Statement& s) {
  Upload u;
  u.id = s.int64(0);
  u.name = s.text(1);
  u.path = s.text(2);
  u.bytes = s.int64(3);
  if (!s.is_null(4)) u.sha256 = s.text(4);
  u.uploaded_by = s.text(5);
  u.created_at = s.int64(6);
  u.expires_at = s.int64(7);
  return u;
}

}  // namespace

Result<std::optional<Upload>> load_upload(Database& db, std::int64_t id) {
  auto s = db.prepare(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE id = ?");
  s->bind(1, id);
  auto found = next_row(*s, "cannot read upload " + std::to_string(id));
  if (!found) return found.error();
  if (!*found) return std::optional<Upload>{};
  return std::optional<Upload>{upload_from_row(*s)};
}

Result<std::vector<Upload>> list_uploads(Database& db, const std::string& uploaded_by, UnixSeconds now) {
  auto s = db.prepare(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE uploaded_by = ? AND expires_at > ? ORDER BY id DESC");
  s->bind(1, uploaded_by);
  s->bind(2, static_cast<std::int64_t>(now));
  std::vector<Upload> uploads;
  auto read = for_each_row(*s, "cannot list " + uploaded_by + "'s uploads", [&] { uploads.push_back(upload_from_row(*s)); return ok_status(); });
  if (!read) return read.error();
  return uploads;
}

Result<Upload> create_upload(Database& db, const std::string& name, const std::string& folder, const std::string& actor,
                             UnixSeconds now, UnixSeconds expires_at) {
  // The stored file's name is ours (the id and a random part); the given name is only shown.
  if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos ||
      std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
    return Error{"name must be a file name of 1 to 200 characters, without '/' or control characters"};
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return Error{folder + ": cannot create the upload folder: " + ec.message()};
  std::int64_t id = 0;
  Status done = db.transaction([&]() -> Status {
    auto s = db.prepare("INSERT INTO uploads (name, path, uploaded_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id");
    // Replaced by the id-based path below, inside this transaction: never seen committed. Its
    // own random name, so two nodes creating uploads at once do not meet on a unique path.
    s->bind(1, name);
    s->bind(2, folder + "/upload-new-" + std::to_string(std::random_device{}()) + "-" + std::to_string(now));
    s->bind(3, actor);
    s->bind(4, now);
    s->bind(5, expires_at);
    if (auto st = run(*s); !st) return st.error().within("cannot store the upload");
    id = s->int64(0);
    auto p = db.prepare("UPDATE uploads SET path = ? WHERE id = ?");
    p->bind(1, folder + "/upload-" + std::to_string(id) + ".bin");
    p->bind(2, id);
    if (auto st = run(*p); !st) return st.error().within("cannot set the upload's path");
    return audit::append(db, {actor, "upload.create", "upload/" + std::to_string(id), {{"name", name}}}, now);
  });
  if (!done) return done.error();
  auto u = load_upload(db, id);
  if (!u || !u->has_value()) return Error{"upload " + std::to_string(id) + " cannot be read back"};
  std::ofstream(u->value().path, std::ios::binary | std::ios::trunc);
  return std::move(**u);
}

Result<Upload> append_upload(Database& db, std::int64_t id, std::int64_t offset, const std::string& bytes, const std::string& actor,
                             const UploadLimits& limits) {
  auto loaded = load_upload(db, id);
  if (!loaded) return loaded.error();
  if (!loaded->has_value()) return Error{"upload " + std::to_string(id) + " does not exist"};
  Upload u = std::move(**loaded);
  if (u.uploaded_by != actor) return Error{"upload " + std::to_string(id) + " belongs to someone other than " + actor};
  if (u.sha256) return Error{"upload " + std::to_string(id) + " is finished"};
  if (offset != u.bytes)
    return Error{"upload " + std::to_string(id) + ": the offset is " + std::to_string(offset) + " but " + std::to_string(u.bytes) +
                 " bytes are stored; send from there"};
  const auto size = static_cast<std::int64_t>(bytes.size());
  if (u.bytes + size > limits.max_bytes)
    return Error{"upload " + std::to_string(id) + " would exceed the " + std::to_string(limits.max_bytes >> 20) + " MiB an upload may have (quota)"};
  {
    auto used = db.prepare("SELECT coalesce(sum(bytes), 0) FROM uploads WHERE uploaded_by = ?");
    used->bind(1, actor);
    if (auto st = run(*used); !st) return st.error().within("cannot read the quota");
    if (used->int64(0) + size > limits.quota_bytes)
      return Error{actor + "'s uploads would exceed their " + std::to_string(limits.quota_bytes >> 20) +
                   " MiB (quota); finish and search, or wait for older uploads to expire"};
  }
  // The file first, then its row; a failure of either cuts the file back to what the row says.
  auto cut_back = [&] {
    std::error_code ec;
    std::filesystem::resize_file(u.path, static_cast<std::uintmax_t>(u.bytes), ec);
  };
  {
    std::ofstream out(u.path, std::ios::binary | std::ios::app);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      cut_back();
      return Error{"upload " + std::to_string(id) + ": the chunk could not be written (is the disk full?); send it again"};
    }
  }
  auto s = db.prepare("UPDATE uploads SET bytes = ? WHERE id = ?");
  s->bind(1, u.bytes + size);
  s->bind(2, id);
  if (auto st = run(*s); !st) {
    cut_back();
    return st.error().within("cannot update upload " + std::to_string(id));
  }
  u.bytes += size;
  return u;
}

Result<Upload> upload_to_finish(Database& db, std::int64_t id, const std::string& actor) {
  auto loaded = load_upload(db, id);
  if (!loaded) return loaded.error();
  if (!loaded->has_value()) return Error{"upload " + std::to_string(id) + " does not exist"};
  Upload u = std::move(**loaded);
  if (u.uploaded_by != actor) return Error{"upload " + std::to_string(id) + " belongs to someone other than " + actor};
  if (u.sha256) return Error{"upload " + std::to_string(id) + " is finished"};
  return u;
}

Result<Upload> commit_finish(Database& db, const Upload& hashed, const std::string& sha256, const std::string& actor, UnixSeconds now) {
  Upload u = hashed;
  Status done = db.transaction([&]() -> Status {
    auto s = db.prepare(
        "UPDATE uploads SET sha256 = ?, finished_at = ? WHERE id = ? AND bytes = ? AND sha256 IS NULL AND uploaded_by = ? RETURNING id");
    s->bind(1, sha256);
    s->bind(2, now);
    s->bind(3, u.id);
    s->bind(4, u.bytes);
    s->bind(5, actor);
    auto finished = next_row(*s, "cannot finish upload " + std::to_string(u.id));
    if (!finished) return finished.error();
    if (!*finished)
      return Error{"upload " + std::to_string(u.id) + " changed while it was being checked; finish it again"};
    return audit::append(db, {actor, "upload.finish", "upload/" + std::to_string(u.id), {{"name", u.name}, {"bytes", u.bytes}, {"sha256", sha256}}},
                         now);
  });
  if (!done) return done.error();
  u.sha256 = sha256;
  return u;
}

Result<Upload> finish_upload(Database& db, std::int64_t id, const std::string& sha256, const std::string& actor, UnixSeconds now) {
  auto u = upload_to_finish(db, id, actor);
  if (!u) return u.error();
  auto digest = sha256_file(u->path);
  if (!digest) return digest.error();
  if (*digest != sha256)
    return Error{"upload " + std::to_string(id) + ": the file's SHA-256 is " + *digest + ", not " + sha256 + "; the upload is incomplete or damaged"};
  return commit_finish(db, *u, sha256, actor, now);
}

Result<PurgeCount> purge_uploads(Database& db, UnixSeconds now, UnixSeconds unfinished_before) {
  std::vector<Upload> expired;
  {
    // Not one that a search still waiting or running names: it would fail for want of its file.
    // (The searches' file lists are JSON; they are read here rather than by an engine's JSON
    // functions, which SQLite and PostgreSQL spell differently.)
    std::set<std::string> in_use;
    auto searches = db.prepare("SELECT files FROM searches WHERE status IN ('pending', 'approved', 'running')");
    auto named = for_each_row(*searches, "cannot read the searches' recordings", [&] {
      for (const std::string& file : strings(parse_array(searches->text(0)))) in_use.insert(file);
      return ok_status();
    });
    if (!named) return named.error();
    auto s = db.prepare(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE expires_at <= ? OR (finished_at IS NULL AND created_at <= ?) ORDER BY id");
    s->bind(1, now);
    s->bind(2, unfinished_before);
    auto read = for_each_row(*s, "cannot find the uploads to purge", [&] {
      Upload u = upload_from_row(*s);
      if (in_use.count(u.path) == 0) expired.push_back(std::move(u));
      return ok_status();
    });
    if (!read) return read.error();
  }
  PurgeCount count;
  for (const Upload& u : expired) {
    // The file goes first: a record that says "purged" while the footage stays would be false.
    std::error_code ec;
    std::filesystem::remove(u.path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      ++count.failed;
      continue;
    }
    Status done = db.transaction([&]() -> Status {
      auto d = db.prepare("DELETE FROM uploads WHERE id = ?");
      d->bind(1, u.id);
      if (auto st = run(*d); !st) return st.error().within("cannot remove upload " + std::to_string(u.id));
      return audit::append(db, {"system", "upload.purge", "upload/" + std::to_string(u.id),
                                {{"name", u.name}, {"bytes", u.bytes}, {"finished", u.sha256.has_value()}}}, now);
    });
    if (!done) return done.error();
    ++count.purged;
  }
  return count;
}

}  // namespace glassbox
