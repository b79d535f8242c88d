#include "store/search_parts.h"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>

#include "core/json_text.h"

namespace glassbox {
namespace {

constexpr const char* kPartColumns = "search_id, part, work, recorded_by, state, runner, runner_until_ms, runs, created_ms";

SearchPart part_from_row(const Statement& s) {
  SearchPart p;
  p.search_id = s.int64(0);
  p.part = static_cast<int>(s.int64(1));
  p.work = PartWork::from_json(nlohmann::json::parse(s.text(2), nullptr, /*allow_exceptions=*/false));
  if (!s.is_null(3)) p.work.recording.recorded_by = s.text(3);
  p.state = s.text(4);
  if (!s.is_null(5)) p.runner = s.text(5);
  p.runner_until_ms = s.int64(6);
  p.runs = static_cast<int>(s.int64(7));
  p.created_ms = s.int64(8);
  return p;
}

Result<std::vector<SearchPart>> read_parts(Statement& s, const std::string& what) {
  std::vector<SearchPart> out;
  auto read = for_each_row(s, what, [&] {
    out.push_back(part_from_row(s));
    return ok_status();
  });
  if (!read) return read.error();
  return out;
}

}  // namespace

nlohmann::json PartWork::to_json() const {
  return {{"source", recording.source},
          {"camera", recording.camera},
          {"path", recording.path},
          {"start_ms", json_or_null(recording.start_ms)},
          {"from_s", recording.from_s},
          {"to_s", json_or_null(recording.to_s)},
          {"duration_s", json_or_null(recording.duration_s)},
          {"piece_s", piece_s},
          {"min_face_px", min_face_px},
          {"detect_size", detect_size}};
}

PartWork PartWork::from_json(const nlohmann::json& j) {
  PartWork w;
  if (!j.is_object()) return w;
  read_json_field(j, "source", w.recording.source);
  read_json_field(j, "camera", w.recording.camera);
  read_json_field(j, "path", w.recording.path);
  read_json_field(j, "start_ms", w.recording.start_ms);
  read_json_field(j, "from_s", w.recording.from_s);
  read_json_field(j, "to_s", w.recording.to_s);
  read_json_field(j, "duration_s", w.recording.duration_s);
  read_json_field(j, "piece_s", w.piece_s);
  read_json_field(j, "min_face_px", w.min_face_px);
  read_json_field(j, "detect_size", w.detect_size);
  return w;
}

Result<std::vector<SearchPart>> plan_search_parts(Database& db, std::int64_t id, const std::vector<PartWork>& work, std::int64_t now_ms) {
  Status planned = db.transaction([&]() -> Status {
    // A search row lock first, so that two coordinators (one that lost its claim) never both
    // write the parts: the second finds them written.
    auto lock = db.prepare(db.dialect() == Dialect::kPostgres ? "SELECT id FROM searches WHERE id = ? FOR UPDATE"
                                                              : "SELECT id FROM searches WHERE id = ?");
    lock->bind(1, id);
    auto found = next_row(*lock, "cannot read search " + std::to_string(id));
    if (!found) return found.error();
    if (!*found) return Error{"search " + std::to_string(id) + " does not exist"};
    lock.reset();
    auto count = db.prepare("SELECT count(*) FROM search_parts WHERE search_id = ?");
    count->bind(1, id);
    auto counted = next_row(*count, "cannot count the parts of search " + std::to_string(id));
    if (!counted) return counted.error();
    if (count->int64(0) > 0) return ok_status();
    for (std::size_t i = 0; i < work.size(); ++i) {
      auto insert = db.prepare("INSERT INTO search_parts (search_id, part, work, recorded_by, created_ms) VALUES (?, ?, ?, ?, ?)");
      insert->bind(1, id);
      insert->bind(2, static_cast<std::int64_t>(i));
      insert->bind(3, to_json_text(work[i].to_json()));
      if (!work[i].recording.recorded_by.empty()) insert->bind(4, work[i].recording.recorded_by);
      insert->bind(5, now_ms);
      if (auto st = run(*insert); !st) return st.error().within("cannot store the parts of search " + std::to_string(id));
    }
    return ok_status();
  });
  if (!planned) return planned.error();
  return load_search_parts(db, id);
}

Result<std::vector<SearchPart>> load_search_parts(Database& db, std::int64_t id) {
  auto s = db.prepare(std::string("SELECT ") + kPartColumns + " FROM search_parts WHERE search_id = ? ORDER BY part");
  s->bind(1, id);
  return read_parts(*s, "cannot read the parts of search " + std::to_string(id));
}

Result<std::vector<SearchPart>> claimable_search_parts(Database& db, const std::string& node, std::int64_t now_ms,
                                                       std::optional<std::int64_t> search, int limit) {
  auto s = db.prepare(std::string("SELECT ") + kPartColumns +
                      " FROM search_parts p WHERE (p.state = 'pending' OR (p.state = 'running' AND coalesce(p.runner_until_ms, 0) <= ?1)) "
                      "AND EXISTS (SELECT 1 FROM searches s WHERE s.id = p.search_id AND s.status = 'running' AND s.expired = 0) "
                      "AND (?2 = 0 OR p.search_id = ?3) "
                      "ORDER BY CASE WHEN p.recorded_by = ?4 THEN 0 ELSE 1 END, p.search_id, p.part LIMIT ?5");
  s->bind(1, now_ms);
  s->bind(2, search ? 1 : 0);
  s->bind(3, search.value_or(0));
  s->bind(4, node);
  s->bind(5, std::max(1, limit));
  return read_parts(*s, "cannot list the search parts to run");
}

Result<bool> claim_search_part(Database& db, std::int64_t id, int part, const SearchClaim& claim, std::int64_t now_ms) {
  auto take = db.prepare(
      "UPDATE search_parts SET state = 'running', runner = ?1, runner_until_ms = ?2, runs = runs + 1 "
      "WHERE search_id = ?3 AND part = ?4 AND (state = 'pending' OR (state = 'running' AND coalesce(runner_until_ms, 0) <= ?5)) "
      "RETURNING part");
  take->bind(1, claim.node);
  take->bind(2, now_ms + claim.claim_ms);
  take->bind(3, id);
  take->bind(4, part);
  take->bind(5, now_ms);
  return next_row(*take, "cannot claim part " + std::to_string(part) + " of search " + std::to_string(id));
}

Result<bool> renew_search_parts(Database& db, std::int64_t id, const std::vector<int>& parts, const SearchClaim& claim) {
  bool all_ours = true;
  Status renewed = db.transaction([&]() -> Status {
    for (int part : parts) {
      auto renew = db.prepare(
          "UPDATE search_parts SET runner_until_ms = ?1 WHERE search_id = ?2 AND part = ?3 AND state = 'running' AND runner = ?4 "
          "RETURNING part");
      renew->bind(1, unix_ms_now() + claim.claim_ms);
      renew->bind(2, id);
      renew->bind(3, part);
      renew->bind(4, claim.node);
      auto found = next_row(*renew, "cannot renew the claim on part " + std::to_string(part) + " of search " + std::to_string(id));
      if (!found) return found.error();
      if (!*found) all_ours = false;
    }
    return ok_status();
  });
  if (!renewed) return renewed.error();
  return all_ours;
}

Status release_search_parts(Database& db, std::int64_t id, const std::vector<int>& parts, const SearchClaim& claim) {
  for (int part : parts) {
    auto release = db.prepare("UPDATE search_parts SET runner_until_ms = 0 WHERE search_id = ? AND part = ? AND state = 'running' AND runner = ?");
    release->bind(1, id);
    release->bind(2, part);
    release->bind(3, claim.node);
    if (auto st = run(*release); !st) return st.error().within("cannot let go of part " + std::to_string(part) + " of search " + std::to_string(id));
  }
  return ok_status();
}

Status store_search_part(Database& db, std::int64_t id, int part, const RecordingHits& result, const SearchClaim& claim) {
  const std::string what = "part " + std::to_string(part) + " of search " + std::to_string(id);
  return db.transaction([&]() -> Status {
    auto done = db.prepare(
        "UPDATE search_parts SET state = 'done', runner_until_ms = NULL, error = ?1, stats = ?2 "
        "WHERE search_id = ?3 AND part = ?4 AND state = 'running' AND runner = ?5 RETURNING part");
    if (result.error) done->bind(1, *result.error);
    done->bind(2, to_json_text(result.stats.to_json()));
    done->bind(3, id);
    done->bind(4, part);
    done->bind(5, claim.node);
    auto found = next_row(*done, "cannot store " + what);
    if (!found) return found.error();
    if (!*found)
      return Error{what + " is no longer node " + claim.node + "'s (its claim ran out and another node took it, or the search ended): its hits are not stored"};
    done.reset();
    std::int64_t seq = 0;
    for (const SearchHit& h : result.hits) {
      auto insert = db.prepare("INSERT INTO search_part_hits (search_id, part, seq, t, score, crop) VALUES (?, ?, ?, ?, ?, ?)");
      insert->bind(1, id);
      insert->bind(2, part);
      insert->bind(3, seq++);
      insert->bind_real(4, h.t);
      if (h.score) insert->bind_real(5, *h.score);
      std::vector<unsigned char> png;
      if (!h.crop.empty() && cv::imencode(".png", h.crop, png)) insert->bind_bytes(6, png);
      if (auto st = run(*insert); !st) return st.error().within("cannot store a hit of " + what);
    }
    return ok_status();
  });
}

Result<std::vector<std::optional<RecordingHits>>> search_part_results(Database& db, std::int64_t id) {
  std::vector<std::optional<RecordingHits>> out;
  auto parts = db.prepare("SELECT part, state, error, stats FROM search_parts WHERE search_id = ? ORDER BY part");
  parts->bind(1, id);
  auto listed = for_each_row(*parts, "cannot read the parts of search " + std::to_string(id), [&] {
    const auto part = static_cast<std::size_t>(parts->int64(0));
    if (out.size() <= part) out.resize(part + 1);
    if (parts->text(1) != "done") return ok_status();
    RecordingHits r;
    if (!parts->is_null(2)) r.error = parts->text(2);
    r.stats = SearchStats::from_json(nlohmann::json::parse(parts->text(3), nullptr, /*allow_exceptions=*/false));
    out[part] = std::move(r);
    return ok_status();
  });
  if (!listed) return listed.error();
  auto hits = db.prepare("SELECT part, t, score, crop FROM search_part_hits WHERE search_id = ? ORDER BY part, seq");
  hits->bind(1, id);
  auto read = for_each_row(*hits, "cannot read the hits of search " + std::to_string(id), [&] {
    const auto part = static_cast<std::size_t>(hits->int64(0));
    if (part >= out.size() || !out[part]) return Status{Error{"search " + std::to_string(id) + " has hits of a part not done"}};
    SearchHit h;
    h.recording = part;
    h.t = hits->real(1);
    if (!hits->is_null(2)) h.score = hits->real(2);
    if (!hits->is_null(3)) h.crop = cv::imdecode(hits->bytes(3), cv::IMREAD_COLOR);
    out[part]->hits.push_back(std::move(h));
    return ok_status();
  });
  if (!read) return read.error();
  return out;
}

Status delete_search_parts(Database& db, std::int64_t id) {
  // The hits first: SQLite enforces the cascade only where foreign keys are on.
  for (const char* sql : {"DELETE FROM search_part_hits WHERE search_id = ?", "DELETE FROM search_parts WHERE search_id = ?"}) {
    auto s = db.prepare(sql);
    s->bind(1, id);
    if (auto st = run(*s); !st) return st.error().within("cannot delete the parts of search " + std::to_string(id));
  }
  return ok_status();
}

Result<SearchPartsSummary> summarize_search_parts(Database& db, std::int64_t id) {
  SearchPartsSummary summary;
  auto counts = db.prepare("SELECT state, count(*) FROM search_parts WHERE search_id = ? GROUP BY state");
  counts->bind(1, id);
  auto counted = for_each_row(*counts, "cannot count the parts of search " + std::to_string(id), [&] {
    const auto n = static_cast<int>(counts->int64(1));
    summary.total += n;
    if (counts->text(0) == "pending") summary.pending = n;
    if (counts->text(0) == "done") summary.done = n;
    return ok_status();
  });
  if (!counted) return counted.error();
  auto running = db.prepare(std::string("SELECT ") + kPartColumns + " FROM search_parts WHERE search_id = ? AND state = 'running' ORDER BY part");
  running->bind(1, id);
  auto listed = read_parts(*running, "cannot read the running parts of search " + std::to_string(id));
  if (!listed) return listed.error();
  summary.running = std::move(*listed);
  return summary;
}

nlohmann::json SearchPartsSummary::to_json() const {
  nlohmann::json now = nlohmann::json::array();
  for (const SearchPart& p : running) now.push_back({{"source", p.work.recording.source}, {"runner", json_or_null(p.runner)}, {"runs", p.runs}});
  return {{"total", total}, {"pending", pending}, {"done", done}, {"running", now}};
}

}  // namespace glassbox
