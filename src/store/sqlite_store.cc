#include "store/sqlite_store.h"

#include <filesystem>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "store/template_key.h"
#include "store/sqlite_statement.h"

namespace glassbox {
namespace {


EntryStatus parse_status(const std::string& s) {
  if (s == "active") return EntryStatus::kActive;
  if (s == "revoked") return EntryStatus::kRevoked;
  return EntryStatus::kPending;
}

constexpr const char* kEntryColumns =
    "SELECT e.id, e.subject, e.legal_basis, e.photo_source, e.submitted_by, e.submitted_at, e.expires_at, e.status, "
    "e.approved_by, e.approved_at, e.revoked_by, e.revoked_at, e.revoke_reason, e.scope, (SELECT count(*) FROM entry_templates t WHERE t.entry_id = e.id), "
    "(SELECT json_group_array(json_array(p.position, p.photo_name, p.photo_sha256)) FROM "
    "(SELECT position, photo_name, photo_sha256 FROM entry_photos WHERE entry_id = e.id ORDER BY position) p), "
    "(SELECT deleted_at FROM entry_biometrics_deleted d WHERE d.entry_id = e.id) "
    "FROM watchlist_entries e ";

std::vector<std::string> parse_scope(const std::string& text) {
  std::vector<std::string> out;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

EntryRecord read_entry(const SqliteStatement& s) {
  EntryRecord r;
  r.id = s.int64(0);
  r.subject = s.text(1);
  r.legal_basis = s.text(2);
  r.photo_source = s.text(3);
  r.submitted_by = s.text(4);
  r.submitted_at = s.int64(5);
  r.expires_at = s.int64(6);
  r.status = parse_status(s.text(7));
  if (!s.is_null(8)) r.approved_by = s.text(8);
  if (!s.is_null(9)) r.approved_at = s.int64(9);
  if (!s.is_null(10)) r.revoked_by = s.text(10);
  if (!s.is_null(11)) r.revoked_at = s.int64(11);
  if (!s.is_null(12)) r.revoke_reason = s.text(12);
  r.scope = parse_scope(s.text(13));
  r.template_count = static_cast<int>(s.int64(14));
  const auto photos = nlohmann::json::parse(s.text(15), nullptr, /*allow_exceptions=*/false);
  if (photos.is_array())
    for (const auto& p : photos)
      if (p.is_array() && p.size() == 3) r.photos.push_back({p[0].get<int>(), p[1].get<std::string>(), p[2].get<std::string>()});
  if (!s.is_null(16)) r.biometrics_deleted_at = s.int64(16);
  return r;
}

}  // namespace

const char* entry_status_name(EntryStatus status) {
  switch (status) {
    case EntryStatus::kActive: return "active";
    case EntryStatus::kRevoked: return "revoked";
    case EntryStatus::kPending: break;
  }
  return "pending";
}

nlohmann::json entry_to_json(const EntryRecord& e, UnixSeconds now) {
  nlohmann::json j = {{"id", e.id},
                      {"subject", e.subject},
                      {"legal_basis", e.legal_basis},
                      {"source", e.photo_source},
                      {"submitted_by", e.submitted_by},
                      {"submitted_at", format_utc(e.submitted_at)},
                      {"expires", format_date_utc(e.expires_at)},
                      {"status", entry_status_name(e.status)},
                      {"expired", now >= e.expires_at},
                      {"matching", e.status == EntryStatus::kActive && now < e.expires_at},
                      {"templates", e.template_count},
                      {"scope", e.scope}};
  if (e.approved_by) j["approved_by"] = *e.approved_by;
  if (e.approved_at) j["approved_at"] = format_utc(*e.approved_at);
  if (e.revoked_by) j["revoked_by"] = *e.revoked_by;
  if (e.revoked_at) j["revoked_at"] = format_utc(*e.revoked_at);
  if (e.revoke_reason) j["revoke_reason"] = *e.revoke_reason;
  nlohmann::json photos = nlohmann::json::array();
  for (const ReferencePhotoInfo& p : e.photos) photos.push_back({{"position", p.position}, {"name", p.name}, {"sha256", p.sha256}});
  j["photos"] = photos;
  if (e.biometrics_deleted_at) j["biometrics_deleted_at"] = format_utc(*e.biometrics_deleted_at);
  return j;
}

Result<std::unique_ptr<SqliteWatchlistStore>> SqliteWatchlistStore::open(const std::string& path, OpenMode mode) {
  auto db = SqliteDatabase::open(path, mode);
  if (!db) return db.error();
  return std::unique_ptr<SqliteWatchlistStore>(new SqliteWatchlistStore(std::move(*db)));
}

Result<std::int64_t> SqliteWatchlistStore::add_pending_entry(const NewEntry& entry,
                                                             const std::vector<EntryTemplate>& templates,
                                                             UnixSeconds now) {
  if (templates.empty()) return Error{"an entry needs at least one template"};
  auto key = template_key(/*create_if_missing=*/true);
  if (!key) return key.error();
  if (auto s = db_->exec("BEGIN IMMEDIATE"); !s) return s.error();
  auto abort_with = [&](Error e) {
    db_->rollback();
    return e;
  };
  SqliteStatement insert(db_->handle(),
                   "INSERT INTO watchlist_entries (subject, legal_basis, photo_source, submitted_by, submitted_at, "
                   "expires_at, status, scope) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)");
  if (!insert.prepared()) return abort_with(db_->error("cannot prepare entry insert"));
  insert.bind(1, entry.subject);
  insert.bind(2, entry.legal_basis);
  insert.bind(3, entry.photo_source);
  insert.bind(4, entry.submitted_by);
  insert.bind(5, now);
  insert.bind(6, entry.expires_at);
  insert.bind(7, nlohmann::json(entry.scope).dump());
  if (insert.step() != SQLITE_DONE) return abort_with(db_->error("cannot store the entry"));
  const std::int64_t id = sqlite3_last_insert_rowid(db_->handle());
  for (const EntryTemplate& t : templates) {
    SqliteStatement ins(db_->handle(),
                  "INSERT INTO entry_templates (entry_id, profile, dimension, key_id, sealed, photo_name, photo_sha256) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!ins.prepared()) return abort_with(db_->error("cannot prepare template insert"));
    ins.bind(1, id);
    ins.bind(2, t.profile);
    ins.bind(3, static_cast<std::int64_t>(t.vector.size()));
    ins.bind(4, key->id());
    ins.bind_bytes(5, key->seal(t.vector, id, t.profile));
    ins.bind(6, t.photo_name);
    ins.bind(7, t.photo_sha256);
    if (ins.step() != SQLITE_DONE) return abort_with(db_->error("cannot store a template"));
  }
  // Each photo once, however many profiles made a template of it.
  int position = 0;
  std::set<std::string> kept;
  for (const EntryTemplate& t : templates) {
    if (t.reference_jpeg.empty() || !kept.insert(t.photo_sha256).second) continue;
    SqliteStatement ins(db_->handle(), "INSERT INTO entry_photos (entry_id, position, photo_name, photo_sha256, key_id, sealed) VALUES (?, ?, ?, ?, ?, ?)");
    if (!ins.prepared()) return abort_with(db_->error("cannot prepare photo insert"));
    ins.bind(1, id);
    ins.bind(2, static_cast<std::int64_t>(++position));
    ins.bind(3, t.photo_name);
    ins.bind(4, t.photo_sha256);
    ins.bind(5, key->id());
    ins.bind_bytes(6, key->seal_photo(t.reference_jpeg, id, t.photo_sha256));
    if (ins.step() != SQLITE_DONE) return abort_with(db_->error("cannot store a reference photo"));
  }
  nlohmann::json photos = nlohmann::json::array();
  for (const EntryTemplate& t : templates) photos.push_back({{"name", t.photo_name}, {"sha256", t.photo_sha256}, {"profile", t.profile}});
  const audit::AuditEvent event{entry.submitted_by, "entry.enrol", "entry/" + std::to_string(id),
                                {{"subject", entry.subject}, {"legal_basis", entry.legal_basis}, {"source", entry.photo_source},
                                 {"expires", format_date_utc(entry.expires_at)}, {"photos", photos}, {"scope", entry.scope}}};
  if (auto s = audit::append(*db_, event, now); !s) return abort_with(s.error());
  if (auto s = db_->exec("COMMIT"); !s) return abort_with(s.error());
  return id;
}

Status SqliteWatchlistStore::approve_entry(std::int64_t entry_id, const std::string& approver, UnixSeconds now) {
  const std::string entry = "entry " + std::to_string(entry_id);
  return db_->transaction([&]() -> Status {
    SqliteStatement find(db_->handle(), "SELECT status, submitted_by, expires_at FROM watchlist_entries WHERE id = ?");
    if (!find.prepared()) return db_->error("cannot prepare entry lookup");
    find.bind(1, entry_id);
    if (find.step() != SQLITE_ROW) return Error{entry + " does not exist"};
    const std::string status = find.text(0);
    const std::string submitter = find.text(1);
    const UnixSeconds expires_at = find.int64(2);
    if (status != "pending") return Error{entry + " is " + status + ", only a pending entry can be approved"};
    if (approver == submitter)
      return Error{entry + " was submitted by '" + submitter + "': an entry must be approved by someone other than its submitter"};
    if (now >= expires_at) return Error{entry + " expired on " + format_date_utc(expires_at) + " and can no longer be approved"};
    SqliteStatement update(db_->handle(), "UPDATE watchlist_entries SET status = 'active', approved_by = ?, approved_at = ? WHERE id = ? AND status = 'pending'");
    if (!update.prepared()) return db_->error("cannot prepare approval");
    update.bind(1, approver);
    update.bind(2, now);
    update.bind(3, entry_id);
    if (update.step() != SQLITE_DONE) return db_->error("cannot approve the entry");
    return audit::append(*db_, {approver, "entry.approve", "entry/" + std::to_string(entry_id), {{"submitted_by", submitter}}}, now);
  });
}

Status SqliteWatchlistStore::revoke_entry(std::int64_t entry_id, const std::string& revoked_by, const std::string& reason,
                                          UnixSeconds now) {
  const std::string entry = "entry " + std::to_string(entry_id);
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) return Error{entry + ": a revocation needs a reason"};
  return db_->transaction([&]() -> Status {
    SqliteStatement find(db_->handle(), "SELECT status FROM watchlist_entries WHERE id = ?");
    if (!find.prepared()) return db_->error("cannot prepare entry lookup");
    find.bind(1, entry_id);
    if (find.step() != SQLITE_ROW) return Error{entry + " does not exist"};
    if (find.text(0) == "revoked") return Error{entry + " is already revoked"};
    SqliteStatement update(db_->handle(),
                     "UPDATE watchlist_entries SET status = 'revoked', revoked_by = ?, revoked_at = ?, revoke_reason = ? "
                     "WHERE id = ? AND status <> 'revoked'");
    if (!update.prepared()) return db_->error("cannot prepare revocation");
    update.bind(1, revoked_by);
    update.bind(2, now);
    update.bind(3, reason);
    update.bind(4, entry_id);
    if (update.step() != SQLITE_DONE) return db_->error("cannot revoke the entry");
    return audit::append(*db_, {revoked_by, "entry.revoke", "entry/" + std::to_string(entry_id), {{"reason", reason}}}, now);
  });
}

Result<std::optional<EntryRecord>> SqliteWatchlistStore::get_entry(std::int64_t entry_id) {
  const std::string sql = std::string(kEntryColumns) + "WHERE e.id = ?";
  SqliteStatement s(db_->handle(), sql.c_str());
  if (!s.prepared()) return db_->error("cannot prepare entry lookup");
  s.bind(1, entry_id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<EntryRecord>{};
  if (rc != SQLITE_ROW) return db_->error("cannot read entry");
  return std::optional<EntryRecord>{read_entry(s)};
}

Result<std::vector<EntryRecord>> SqliteWatchlistStore::list_entries() {
  const std::string sql = std::string(kEntryColumns) + "ORDER BY e.id";
  SqliteStatement s(db_->handle(), sql.c_str());
  if (!s.prepared()) return db_->error("cannot prepare entry listing");
  std::vector<EntryRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_entry(s));
  if (rc != SQLITE_DONE) return db_->error("cannot list entries");
  return out;
}

Result<std::vector<WatchlistTemplate>> SqliteWatchlistStore::active_templates(const std::string& profile, UnixSeconds now) {
  SqliteStatement s(db_->handle(),
              "SELECT e.id, e.subject, t.key_id, t.sealed, e.scope FROM entry_templates t JOIN watchlist_entries e ON e.id = t.entry_id "
              "WHERE e.status = 'active' AND e.expires_at > ? AND t.profile = ? ORDER BY e.id, t.id");
  if (!s.prepared()) return db_->error("cannot prepare watchlist query");
  s.bind(1, now);
  s.bind(2, profile);
  std::vector<WatchlistTemplate> out;
  std::optional<TemplateKey> key;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (!key) {
      auto loaded = template_key(/*create_if_missing=*/false);
      if (!loaded) return loaded.error();
      key = *loaded;
    }
    if (s.text(2) != key->id())
      return Error{db_->path() + ": templates were sealed with key " + s.text(2) + ", the template key file holds " + key->id()};
    auto vector = key->open(s.bytes(3), s.int64(0), profile);
    if (!vector) return vector.error().within(db_->path());
    out.push_back(WatchlistTemplate{s.int64(0), s.text(1), std::move(*vector), parse_scope(s.text(4))});
  }
  if (rc != SQLITE_DONE) return db_->error("cannot load the watchlist");
  return out;
}

Result<std::vector<std::int64_t>> SqliteWatchlistStore::active_entries_without(const std::string& profile, UnixSeconds now) {
  SqliteStatement s(db_->handle(),
              "SELECT e.id FROM watchlist_entries e WHERE e.status = 'active' AND e.expires_at > ? AND NOT EXISTS "
              "(SELECT 1 FROM entry_templates t WHERE t.entry_id = e.id AND t.profile = ?) ORDER BY e.id");
  if (!s.prepared()) return db_->error("cannot prepare watchlist query");
  s.bind(1, now);
  s.bind(2, profile);
  std::vector<std::int64_t> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.int64(0));
  if (rc != SQLITE_DONE) return db_->error("cannot load the watchlist");
  return out;
}

}  // namespace glassbox

namespace glassbox {

Result<std::optional<std::vector<unsigned char>>> SqliteWatchlistStore::reference_photo(std::int64_t entry_id, int position) {
  SqliteStatement q(db_->handle(), "SELECT photo_sha256, key_id, sealed FROM entry_photos WHERE entry_id = ? AND position = ?");
  if (!q.prepared()) return db_->error("cannot prepare the photo query");
  q.bind(1, entry_id);
  q.bind(2, static_cast<std::int64_t>(position));
  const int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<std::vector<unsigned char>>{};
  if (rc != SQLITE_ROW) return db_->error("cannot read a reference photo");
  auto key = template_key(/*create_if_missing=*/false);
  if (!key) return key.error();
  if (q.text(1) != key->id()) return Error{"reference photo " + std::to_string(position) + " of entry " + std::to_string(entry_id) + " was sealed with another key (" + q.text(1) + ")"};
  auto jpeg = key->open_photo(q.bytes(2), entry_id, q.text(0));
  if (!jpeg) return jpeg.error();
  return std::optional<std::vector<unsigned char>>(std::move(*jpeg));
}

Result<int> SqliteWatchlistStore::delete_ended_biometrics(UnixSeconds ended_before, const std::string& actor, UnixSeconds now) {
  int count = 0;
  auto status = db_->transaction([&]() -> Status {
    // Ended: revoked, or past its expiry; either before `ended_before`. Only entries that still hold something.
    SqliteStatement ended(db_->handle(),
                    "SELECT id, CASE WHEN status = 'revoked' THEN revoked_at ELSE expires_at END FROM watchlist_entries "
                    "WHERE NOT EXISTS (SELECT 1 FROM entry_biometrics_deleted d WHERE d.entry_id = watchlist_entries.id) AND ((status = 'revoked' AND revoked_at < ?1) OR expires_at < ?1) ORDER BY id");
    if (!ended.prepared()) return db_->error("cannot find ended entries");
    ended.bind(1, ended_before);
    std::vector<std::pair<std::int64_t, UnixSeconds>> ids;
    while (ended.step() == SQLITE_ROW) ids.emplace_back(ended.int64(0), ended.int64(1));
    for (const auto& [id, ended_at] : ids) {
      int templates = 0, photos = 0;
      for (const char* table : {"entry_templates", "entry_photos"}) {
        SqliteStatement del(db_->handle(), std::string("DELETE FROM ") + table + " WHERE entry_id = ?");
        if (!del.prepared()) return db_->error("cannot prepare the deletion");
        del.bind(1, id);
        if (del.step() != SQLITE_DONE) return db_->error(std::string("cannot delete from ") + table);
        (std::string(table) == "entry_templates" ? templates : photos) = sqlite3_changes(db_->handle());
      }
      SqliteStatement mark(db_->handle(), "INSERT INTO entry_biometrics_deleted (deleted_at, entry_id) VALUES (?, ?)");
      if (!mark.prepared()) return db_->error("cannot prepare the deletion mark");
      mark.bind(1, now);
      mark.bind(2, id);
      if (mark.step() != SQLITE_DONE) return db_->error("cannot mark an entry's biometrics deleted");
      if (auto s = audit::append(*db_, {actor, "entry.biometrics.delete", "entry/" + std::to_string(id),
                                        {{"ended", format_date_utc(ended_at)}, {"templates", templates}, {"photos", photos}}}, now);
          !s)
        return s;
      ++count;
    }
    return ok_status();
  });
  if (!status) return status.error();
  return count;
}

Result<TemplateKey> SqliteWatchlistStore::template_key(bool create_if_missing) {
  // A rotation interrupted after its commit left the new key beside the old one: the templates
  // name it, so it is put in place now.
  const auto next = next_template_key_path(db_->path());
  std::error_code ec;
  if (std::filesystem::exists(next, ec)) {
    SqliteStatement sealed_with(db_->handle(), "SELECT key_id FROM entry_templates UNION ALL SELECT key_id FROM entry_photos LIMIT 1");
    auto candidate = TemplateKey::read(next);
    if (sealed_with.prepared() && sealed_with.step() == SQLITE_ROW && candidate && candidate->id() == sealed_with.text(0))
      std::filesystem::rename(next, TemplateKey::path_for(db_->path()), ec);
  }
  return TemplateKey::load(db_->path(), create_if_missing);
}

std::filesystem::path SqliteWatchlistStore::next_template_key_path(const std::string& database) {
  return TemplateKey::path_for(database).string() + ".next";
}

Result<int> SqliteWatchlistStore::rotate_template_key(const std::string& actor, UnixSeconds now) {
  auto old_key = template_key(/*create_if_missing=*/false);
  if (!old_key) return old_key.error();
  const TemplateKey new_key = TemplateKey::generate();
  // The new key is on disk before any template depends on it.
  const auto next = next_template_key_path(db_->path());
  if (auto s = new_key.write(next); !s) return s.error();
  int count = 0;
  auto status = db_->transaction([&]() -> Status {
    SqliteStatement rows(db_->handle(), "SELECT id, entry_id, profile, key_id, sealed FROM entry_templates ORDER BY id");
    if (!rows.prepared()) return db_->error("cannot read the templates");
    while (rows.step() == SQLITE_ROW) {
      if (rows.text(3) != old_key->id()) return Error{"template " + std::to_string(rows.int64(0)) + " was sealed with another key (" + rows.text(3) + ")"};
      auto vector = old_key->open(rows.bytes(4), rows.int64(1), rows.text(2));
      if (!vector) return vector.error();
      SqliteStatement update(db_->handle(), "UPDATE entry_templates SET key_id = ?, sealed = ? WHERE id = ?");
      if (!update.prepared()) return db_->error("cannot prepare the re-encryption");
      update.bind(1, new_key.id());
      update.bind_bytes(2, new_key.seal(*vector, rows.int64(1), rows.text(2)));
      update.bind(3, rows.int64(0));
      if (update.step() != SQLITE_DONE) return db_->error("cannot re-encrypt a template");
      ++count;
    }
    int photos = 0;
    SqliteStatement photo_rows(db_->handle(), "SELECT id, entry_id, photo_sha256, key_id, sealed FROM entry_photos ORDER BY id");
    if (!photo_rows.prepared()) return db_->error("cannot read the reference photos");
    while (photo_rows.step() == SQLITE_ROW) {
      if (photo_rows.text(3) != old_key->id())
        return Error{"reference photo " + std::to_string(photo_rows.int64(0)) + " was sealed with another key (" + photo_rows.text(3) + ")"};
      auto jpeg = old_key->open_photo(photo_rows.bytes(4), photo_rows.int64(1), photo_rows.text(2));
      if (!jpeg) return jpeg.error();
      SqliteStatement update(db_->handle(), "UPDATE entry_photos SET key_id = ?, sealed = ? WHERE id = ?");
      if (!update.prepared()) return db_->error("cannot prepare the re-encryption");
      update.bind(1, new_key.id());
      update.bind_bytes(2, new_key.seal_photo(*jpeg, photo_rows.int64(1), photo_rows.text(2)));
      update.bind(3, photo_rows.int64(0));
      if (update.step() != SQLITE_DONE) return db_->error("cannot re-encrypt a reference photo");
      ++photos;
    }
    return audit::append(*db_, {actor, "keys.rotate", "templates", {{"from", old_key->id()}, {"to", new_key.id()}, {"templates", count}, {"photos", photos}}},
                         now);
  });
  std::error_code ec;
  if (!status) {
    std::filesystem::remove(next, ec);
    return status.error();
  }
  std::filesystem::rename(next, TemplateKey::path_for(db_->path()), ec);
  if (ec) return Error{"templates re-encrypted, but the new key could not be put in place (" + ec.message() + "); it is in " + next.string()};
  return count;
}

}  // namespace glassbox
