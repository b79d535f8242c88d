#include "store/sql_watchlist_store.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "store/template_key.h"

namespace glassbox {
namespace {


EntryStatus parse_status(const std::string& s) {
  if (s == "active") return EntryStatus::kActive;
  if (s == "revoked") return EntryStatus::kRevoked;
  return EntryStatus::kPending;
}

// An entry's columns; its photos are read apart (read_entries), so that no engine's JSON
// aggregation is needed.
constexpr const char* kEntryColumns =
    "SELECT e.id, e.subject, e.legal_basis, e.photo_source, e.submitted_by, e.submitted_at, e.expires_at, e.status, "
    "e.approved_by, e.approved_at, e.revoked_by, e.revoked_at, e.revoke_reason, e.scope, (SELECT count(*) FROM entry_templates t WHERE t.entry_id = e.id), "
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

EntryRecord read_entry(const Statement& s) {
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
  if (!s.is_null(15)) r.biometrics_deleted_at = s.int64(15);
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

Result<std::unique_ptr<SqlWatchlistStore>> SqlWatchlistStore::open(const std::string& path, OpenMode mode) {
  auto db = SqliteDatabase::open(path, mode);
  if (!db) return db.error();
  return std::make_unique<SqlWatchlistStore>(std::move(*db));
}

Status SqlWatchlistStore::check_sealing_key(const TemplateKey& key) {
  // One key for the whole watchlist: a node whose key file differs from the one the stored
  // templates name must not seal more with it (docs/cluster.md, "The template key").
  auto sealed_with = sealing_key_id();
  if (!sealed_with) return sealed_with.error();
  if (!sealed_with->empty() && *sealed_with != key.id())
    return Error{TemplateKey::path_for(db_->key_base()).string() + " holds key " + key.id() + ", but the templates in " + db_->describe() +
                 " were sealed with key " + *sealed_with + ": give this node the watchlist's key"};
  return ok_status();
}

Result<TemplateKey> SqlWatchlistStore::sealing_key() {
  auto key = template_key(/*create_if_missing=*/true);
  if (!key) return key.error();
  if (auto s = check_sealing_key(*key); !s) return s.error();
  return key;
}

Result<std::int64_t> SqlWatchlistStore::add_pending_entry(const NewEntry& entry, const std::vector<EntryTemplate>& templates,
                                                          UnixSeconds now) {
  if (templates.empty()) return Error{"an entry needs at least one template"};
  auto key = template_key(/*create_if_missing=*/true);
  if (!key) return key.error();
  std::int64_t id = 0;
  auto status = db_->transaction([&]() -> Status {
    if (auto s = check_sealing_key(*key); !s) return s;
    auto insert = db_->prepare(
        "INSERT INTO watchlist_entries (subject, legal_basis, photo_source, submitted_by, submitted_at, expires_at, status, scope) "
        "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING id");
    insert->bind(1, entry.subject);
    insert->bind(2, entry.legal_basis);
    insert->bind(3, entry.photo_source);
    insert->bind(4, entry.submitted_by);
    insert->bind(5, now);
    insert->bind(6, entry.expires_at);
    insert->bind(7, nlohmann::json(entry.scope).dump());
    auto step = insert->step();
    if (!step) return step.error().within("cannot store the entry");
    id = insert->int64(0);
    auto template_insert = db_->prepare(
        "INSERT INTO entry_templates (entry_id, profile, dimension, key_id, sealed, photo_name, photo_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const EntryTemplate& t : templates) {
      template_insert->bind(1, id);
      template_insert->bind(2, t.profile);
      template_insert->bind(3, static_cast<std::int64_t>(t.vector.size()));
      template_insert->bind(4, key->id());
      template_insert->bind_bytes(5, key->seal(t.vector, id, t.profile));
      template_insert->bind(6, t.photo_name);
      template_insert->bind(7, t.photo_sha256);
      if (auto s = run(*template_insert); !s) return s.error().within("cannot store a template");
    }
    // Each photo once, however many profiles made a template of it.
    auto photo_insert =
        db_->prepare("INSERT INTO entry_photos (entry_id, position, photo_name, photo_sha256, key_id, sealed) VALUES (?, ?, ?, ?, ?, ?)");
    int position = 0;
    std::set<std::string> kept;
    for (const EntryTemplate& t : templates) {
      if (t.reference_jpeg.empty() || !kept.insert(t.photo_sha256).second) continue;
      photo_insert->bind(1, id);
      photo_insert->bind(2, ++position);
      photo_insert->bind(3, t.photo_name);
      photo_insert->bind(4, t.photo_sha256);
      photo_insert->bind(5, key->id());
      photo_insert->bind_bytes(6, key->seal_photo(t.reference_jpeg, id, t.photo_sha256));
      if (auto s = run(*photo_insert); !s) return s.error().within("cannot store a reference photo");
    }
    nlohmann::json photos = nlohmann::json::array();
    for (const EntryTemplate& t : templates) photos.push_back({{"name", t.photo_name}, {"sha256", t.photo_sha256}, {"profile", t.profile}});
    const audit::AuditEvent event{entry.submitted_by, "entry.enrol", "entry/" + std::to_string(id),
                                  {{"subject", entry.subject}, {"legal_basis", entry.legal_basis}, {"source", entry.photo_source},
                                   {"expires", format_date_utc(entry.expires_at)}, {"photos", photos}, {"scope", entry.scope}}};
    return audit::append(*db_, event, now);
  });
  if (!status) return status.error();
  return id;
}

Status SqlWatchlistStore::approve_entry(std::int64_t entry_id, const std::string& approver, UnixSeconds now) {
  const std::string entry = "entry " + std::to_string(entry_id);
  return db_->transaction([&]() -> Status {
    auto find = db_->prepare("SELECT status, submitted_by, expires_at FROM watchlist_entries WHERE id = ?");
    find->bind(1, entry_id);
    auto found = find->step();
    if (!found) return found.error().within("cannot look up " + entry);
    if (*found == Step::kDone) return Error{entry + " does not exist"};
    const std::string status = find->text(0);
    const std::string submitter = find->text(1);
    const UnixSeconds expires_at = find->int64(2);
    if (status != "pending") return Error{entry + " is " + status + ", only a pending entry can be approved"};
    if (approver == submitter)
      return Error{entry + " was submitted by '" + submitter + "': an entry must be approved by someone other than its submitter"};
    if (now >= expires_at) return Error{entry + " expired on " + format_date_utc(expires_at) + " and can no longer be approved"};
    auto update = db_->prepare("UPDATE watchlist_entries SET status = 'active', approved_by = ?, approved_at = ? WHERE id = ? AND status = 'pending'");
    update->bind(1, approver);
    update->bind(2, now);
    update->bind(3, entry_id);
    if (auto s = run(*update); !s) return s.error().within("cannot approve " + entry);
    return audit::append(*db_, {approver, "entry.approve", "entry/" + std::to_string(entry_id), {{"submitted_by", submitter}}}, now);
  });
}

Status SqlWatchlistStore::revoke_entry(std::int64_t entry_id, const std::string& revoked_by, const std::string& reason, UnixSeconds now) {
  const std::string entry = "entry " + std::to_string(entry_id);
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) return Error{entry + ": a revocation needs a reason"};
  return db_->transaction([&]() -> Status {
    auto find = db_->prepare("SELECT status FROM watchlist_entries WHERE id = ?");
    find->bind(1, entry_id);
    auto found = find->step();
    if (!found) return found.error().within("cannot look up " + entry);
    if (*found == Step::kDone) return Error{entry + " does not exist"};
    if (find->text(0) == "revoked") return Error{entry + " is already revoked"};
    auto update = db_->prepare(
        "UPDATE watchlist_entries SET status = 'revoked', revoked_by = ?, revoked_at = ?, revoke_reason = ? WHERE id = ? AND status <> 'revoked'");
    update->bind(1, revoked_by);
    update->bind(2, now);
    update->bind(3, reason);
    update->bind(4, entry_id);
    if (auto s = run(*update); !s) return s.error().within("cannot revoke " + entry);
    return audit::append(*db_, {revoked_by, "entry.revoke", "entry/" + std::to_string(entry_id), {{"reason", reason}}}, now);
  });
}

Result<std::vector<EntryRecord>> SqlWatchlistStore::read_entries(const std::string& where, std::optional<std::int64_t> entry_id) {
  auto entries = db_->prepare(std::string(kEntryColumns) + where + " ORDER BY e.id");
  auto photos = db_->prepare(std::string("SELECT entry_id, position, photo_name, photo_sha256 FROM entry_photos ") +
                             (entry_id ? "WHERE entry_id = ? " : "") + "ORDER BY entry_id, position");
  if (entry_id) {
    entries->bind(1, *entry_id);
    photos->bind(1, *entry_id);
  }
  std::vector<EntryRecord> out;
  if (auto s = for_each_row(*entries, "cannot read the watchlist", [&] { out.push_back(read_entry(*entries)); return ok_status(); }); !s)
    return s.error();
  std::map<std::int64_t, EntryRecord*> by_id;
  for (EntryRecord& e : out) by_id[e.id] = &e;
  auto attach = [&]() -> Status {
    if (auto it = by_id.find(photos->int64(0)); it != by_id.end())
      it->second->photos.push_back({static_cast<int>(photos->int64(1)), photos->text(2), photos->text(3)});
    return ok_status();
  };
  if (auto s = for_each_row(*photos, "cannot read the reference photos", attach); !s) return s.error();
  return out;
}

Result<std::optional<EntryRecord>> SqlWatchlistStore::get_entry(std::int64_t entry_id) {
  auto entries = read_entries("WHERE e.id = ?", entry_id);
  if (!entries) return entries.error();
  if (entries->empty()) return std::optional<EntryRecord>{};
  return std::optional<EntryRecord>{std::move(entries->front())};
}

Result<std::vector<EntryRecord>> SqlWatchlistStore::list_entries() { return read_entries("", std::nullopt); }

Result<std::vector<WatchlistTemplate>> SqlWatchlistStore::active_templates(const std::string& profile, UnixSeconds now) {
  auto s = db_->prepare(
      "SELECT e.id, e.subject, t.key_id, t.sealed, e.scope FROM entry_templates t JOIN watchlist_entries e ON e.id = t.entry_id "
      "WHERE e.status = 'active' AND e.expires_at > ? AND t.profile = ? ORDER BY e.id, t.id");
  s->bind(1, now);
  s->bind(2, profile);
  std::vector<WatchlistTemplate> out;
  std::optional<TemplateKey> key;
  auto status = for_each_row(*s, "cannot load the watchlist", [&]() -> Status {
    if (!key) {
      auto loaded = template_key(/*create_if_missing=*/false);
      if (!loaded) return loaded.error();
      key = *loaded;
    }
    if (s->text(2) != key->id())
      return Error{db_->describe() + ": templates were sealed with key " + s->text(2) + ", the template key file holds " + key->id()};
    auto vector = key->open(s->bytes(3), s->int64(0), profile);
    if (!vector) return vector.error().within(db_->describe());
    out.push_back(WatchlistTemplate{s->int64(0), s->text(1), std::move(*vector), parse_scope(s->text(4))});
    return ok_status();
  });
  if (!status) return status.error();
  return out;
}

Result<std::vector<std::int64_t>> SqlWatchlistStore::active_entries_without(const std::string& profile, UnixSeconds now) {
  auto s = db_->prepare(
      "SELECT e.id FROM watchlist_entries e WHERE e.status = 'active' AND e.expires_at > ? AND NOT EXISTS "
      "(SELECT 1 FROM entry_templates t WHERE t.entry_id = e.id AND t.profile = ?) ORDER BY e.id");
  s->bind(1, now);
  s->bind(2, profile);
  std::vector<std::int64_t> out;
  auto status = for_each_row(*s, "cannot load the watchlist", [&] { out.push_back(s->int64(0)); return ok_status(); });
  if (!status) return status.error();
  return out;
}

Result<std::optional<std::vector<unsigned char>>> SqlWatchlistStore::reference_photo(std::int64_t entry_id, int position) {
  auto q = db_->prepare("SELECT photo_sha256, key_id, sealed FROM entry_photos WHERE entry_id = ? AND position = ?");
  q->bind(1, entry_id);
  q->bind(2, position);
  auto step = q->step();
  if (!step) return step.error().within("cannot read a reference photo");
  if (*step == Step::kDone) return std::optional<std::vector<unsigned char>>{};
  auto key = template_key(/*create_if_missing=*/false);
  if (!key) return key.error();
  if (q->text(1) != key->id())
    return Error{"reference photo " + std::to_string(position) + " of entry " + std::to_string(entry_id) + " was sealed with another key (" + q->text(1) + ")"};
  auto jpeg = key->open_photo(q->bytes(2), entry_id, q->text(0));
  if (!jpeg) return jpeg.error();
  return std::optional<std::vector<unsigned char>>(std::move(*jpeg));
}

Result<int> SqlWatchlistStore::delete_ended_biometrics(UnixSeconds ended_before, const std::string& actor, UnixSeconds now) {
  int count = 0;
  auto status = db_->transaction([&]() -> Status {
    count = 0;  // the body may run again (store/database.h)
    // Ended: revoked, or past its expiry; either before `ended_before`. Only entries that still hold something.
    auto ended = db_->prepare(
        "SELECT id, CASE WHEN status = 'revoked' THEN revoked_at ELSE expires_at END FROM watchlist_entries "
        "WHERE NOT EXISTS (SELECT 1 FROM entry_biometrics_deleted d WHERE d.entry_id = watchlist_entries.id) "
        "AND ((status = 'revoked' AND revoked_at < ?1) OR expires_at < ?1) ORDER BY id");
    ended->bind(1, ended_before);
    std::vector<std::pair<std::int64_t, UnixSeconds>> ids;
    if (auto s = for_each_row(*ended, "cannot find ended entries", [&] { ids.emplace_back(ended->int64(0), ended->int64(1)); return ok_status(); }); !s)
      return s;
    for (const auto& [id, ended_at] : ids) {
      int templates = 0, photos = 0;
      for (const char* table : {"entry_templates", "entry_photos"}) {
        auto del = db_->prepare(std::string("DELETE FROM ") + table + " WHERE entry_id = ? RETURNING entry_id");
        del->bind(1, id);
        auto deleted = count_rows(*del, std::string("cannot delete from ") + table);
        if (!deleted) return deleted.error();
        (std::string(table) == "entry_templates" ? templates : photos) = *deleted;
      }
      auto mark = db_->prepare("INSERT INTO entry_biometrics_deleted (deleted_at, entry_id) VALUES (?, ?)");
      mark->bind(1, now);
      mark->bind(2, id);
      if (auto s = run(*mark); !s) return s.error().within("cannot mark an entry's biometrics deleted");
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

Result<std::string> SqlWatchlistStore::sealing_key_id() {
  auto q = db_->prepare("SELECT key_id FROM entry_templates UNION ALL SELECT key_id FROM entry_photos LIMIT 1");
  auto step = q->step();
  if (!step) return step.error().within("cannot read which key sealed the templates");
  return *step == Step::kRow ? q->text(0) : std::string();
}

Result<TemplateKey> SqlWatchlistStore::template_key(bool create_if_missing) {
  const auto file = TemplateKey::path_for(db_->key_base());
  std::error_code ec;
  // A rotation interrupted after its commit left the new key beside the old one: the templates
  // name it, so it is put in place now.
  const auto next = next_template_key_path();
  if (std::filesystem::exists(next, ec)) {
    auto sealed_with = sealing_key_id();
    auto candidate = TemplateKey::read(next);
    if (sealed_with && candidate && candidate->id() == *sealed_with) std::filesystem::rename(next, file, ec);
  }
  // A new key only for a watchlist that has none yet: a cluster's node without the key file
  // must be given the existing key, not make another.
  if (create_if_missing && !std::filesystem::exists(file, ec)) {
    auto sealed_with = sealing_key_id();
    if (!sealed_with) return sealed_with.error();
    if (!sealed_with->empty())
      return Error{file.string() + ": the template key is missing, and the templates in " + db_->describe() + " were sealed with key " +
                   *sealed_with + ": give this node that key (it is never kept in the database)"};
  }
  return TemplateKey::load(db_->key_base(), create_if_missing);
}

std::filesystem::path SqlWatchlistStore::next_template_key_path() const {
  return TemplateKey::path_for(db_->key_base()).string() + ".next";
}

Result<int> SqlWatchlistStore::rotate_template_key(const std::string& actor, UnixSeconds now) {
  auto old_key = template_key(/*create_if_missing=*/false);
  if (!old_key) return old_key.error();
  const TemplateKey new_key = TemplateKey::generate();
  // The new key is on disk before any template depends on it.
  const auto next = next_template_key_path();
  if (auto s = new_key.write(next); !s) return s.error();
  int count = 0;
  auto status = db_->transaction([&]() -> Status {
    count = 0;  // the body may run again (store/database.h)
    auto rows = db_->prepare("SELECT id, entry_id, profile, key_id, sealed FROM entry_templates ORDER BY id");
    auto update = db_->prepare("UPDATE entry_templates SET key_id = ?, sealed = ? WHERE id = ?");
    auto reseal_template = [&]() -> Status {
      if (rows->text(3) != old_key->id()) return Error{"template " + std::to_string(rows->int64(0)) + " was sealed with another key (" + rows->text(3) + ")"};
      auto vector = old_key->open(rows->bytes(4), rows->int64(1), rows->text(2));
      if (!vector) return vector.error();
      update->bind(1, new_key.id());
      update->bind_bytes(2, new_key.seal(*vector, rows->int64(1), rows->text(2)));
      update->bind(3, rows->int64(0));
      if (auto s = run(*update); !s) return s.error().within("cannot re-encrypt a template");
      ++count;
      return ok_status();
    };
    if (auto s = for_each_row(*rows, "cannot read the templates", reseal_template); !s) return s;
    int photos = 0;
    auto photo_rows = db_->prepare("SELECT id, entry_id, photo_sha256, key_id, sealed FROM entry_photos ORDER BY id");
    auto photo_update = db_->prepare("UPDATE entry_photos SET key_id = ?, sealed = ? WHERE id = ?");
    auto reseal_photo = [&]() -> Status {
      if (photo_rows->text(3) != old_key->id())
        return Error{"reference photo " + std::to_string(photo_rows->int64(0)) + " was sealed with another key (" + photo_rows->text(3) + ")"};
      auto jpeg = old_key->open_photo(photo_rows->bytes(4), photo_rows->int64(1), photo_rows->text(2));
      if (!jpeg) return jpeg.error();
      photo_update->bind(1, new_key.id());
      photo_update->bind_bytes(2, new_key.seal_photo(*jpeg, photo_rows->int64(1), photo_rows->text(2)));
      photo_update->bind(3, photo_rows->int64(0));
      if (auto s = run(*photo_update); !s) return s.error().within("cannot re-encrypt a reference photo");
      ++photos;
      return ok_status();
    };
    if (auto s = for_each_row(*photo_rows, "cannot read the reference photos", reseal_photo); !s) return s;
    return audit::append(*db_, db_->key_base(),
                         {actor, "keys.rotate", "templates", {{"from", old_key->id()}, {"to", new_key.id()}, {"templates", count}, {"photos", photos}}}, now);
  });
  std::error_code ec;
  if (!status) {
    std::filesystem::remove(next, ec);
    return status.error();
  }
  std::filesystem::rename(next, TemplateKey::path_for(db_->key_base()), ec);
  if (ec) return Error{"templates re-encrypted, but the new key could not be put in place (" + ec.message() + "); it is in " + next.string()};
  return count;
}

}  // namespace glassbox
