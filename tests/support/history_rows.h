// What the schema-history tests write into the databases of each earlier version (SQLite:
// schema_history_test.cc, PostgreSQL: postgres_schema_history_test.cc), so that the two speak of
// the same people, templates and photos: the template of an entry or probe, a tiny JPEG, a
// password hash as the account store makes one, a token's hash.
// Thread-safety: pure functions.
#pragma once

#include <sodium.h>

#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/dates.h"
#include "store/database.h"
#include "store/template_key.h"

namespace glassbox::test {

// Every fixture is of the same history: version k's rows were written on day k after this.
inline const UnixSeconds kHistoryStart = *parse_date_utc("2026-01-05") + 9 * 3600;
inline const UnixSeconds kFarExpiry = *parse_date_utc("2099-01-01");
// When the migrated databases are checked: after every submission, after Person C expired.
inline const UnixSeconds kCheckedAt = *parse_date_utc("2026-12-01") + 12 * 3600;
inline const char* const kCarolPassword = "carol's long passphrase 7";

inline UnixSeconds day_of(int version) { return kHistoryStart + version * 86400; }

inline audit::AuditEvent event(const std::string& actor, const std::string& action, const std::string& object) { return {actor, action, object, {}}; }

// Writes a version's rows on either engine, as that version's code did.
class HistorySeeder {
 public:
  explicit HistorySeeder(Database& db) : db_(db) {}
  Status sql(const std::string& text) { return db_.execute(text); }
  // An alert written at the feed's next position, then the feed's head moved on to it.
  Status sql_then_bump_feed(const std::string& insert_alert) {
    if (auto st = sql(insert_alert); !st) return st;
    return sql("UPDATE alert_feed SET position = position + 1");
  }
  // One statement with blobs bound to its ?s, in order.
  Status with_blobs(const std::string& text, const std::vector<std::vector<unsigned char>>& blobs) {
    auto s = db_.prepare(text);
    for (std::size_t i = 0; i < blobs.size(); ++i) s->bind_bytes(static_cast<int>(i + 1), blobs[i]);
    auto step = s->step();
    if (!step) return step.error();
    return ok_status();
  }
  // Audit records of the actions a version's rows stand for, as the service of that version
  // appended them (one transaction each).
  Status audit(int version, const std::vector<audit::AuditEvent>& events) {
    for (const auto& e : events) {
      if (auto s = db_.transaction([&] { return audit::append(db_, e, day_of(version) + 3600); }); !s) return s;
    }
    return ok_status();
  }
  std::string t(int version, int seconds = 0) const { return std::to_string(day_of(version) + seconds); }
  Database& db() { return db_; }

 private:
  Database& db_;
};

// The template of entry `id` (and of a search's probe: id 100 + the search's).
inline std::vector<float> history_vector(int id) {
  return {0.125f * static_cast<float>(id), -0.5f, 0.3f + static_cast<float>(id), 0.0625f};
}

inline std::vector<unsigned char> bytes_of(const std::vector<float>& v) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  return {p, p + v.size() * sizeof(float)};
}

inline std::vector<unsigned char> tiny_jpeg(unsigned char mark) { return {0xff, 0xd8, 0xff, 0xe0, mark, mark, 0xff, 0xd9}; }

// As auth/user_store.cc hashes a password; "" when libsodium fails.
inline std::string password_hash(const std::string& password) {
  char hash[crypto_pwhash_STRBYTES];
  if (sodium_init() < 0 ||
      crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return "";
  return hash;
}

inline std::vector<unsigned char> sha256_of(const std::string& text) {
  std::vector<unsigned char> out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return out;
}

// The rows of the version that brought searches (SQLite 9, PostgreSQL 6; the same columns on
// both): a recorded segment, a done search of camera gate with its sealed probe and one visit, a
// pending search, a finished upload. `segment_suffix` is the segment file's as that version named it.
inline Status seed_searches(HistorySeeder& s, int version, const TemplateKey& key, const std::string& segment_suffix) {
  const std::string far = std::to_string(kFarExpiry);
  const std::int64_t ms = static_cast<std::int64_t>(day_of(version)) * 1000;
  auto st = s.sql("INSERT INTO recording_segments (id, camera, path, start_ms, end_ms, bytes) VALUES (1, 'gate', '/srv/glassbox/recordings/gate/" +
                  std::to_string(ms) + segment_suffix + "', " + std::to_string(ms) + ", " + std::to_string(ms + 60000) + ", 7340032)");
  if (st)
    st = s.sql("INSERT INTO searches (id, case_id, legal_basis, requested_by, requested_at, approved_by, approved_at, cameras, files, window_from, window_to, "
               "mode, profile, threshold, expires_at, status, finished_at, expired, stats, errors) VALUES "
               "(1, '2026-114', 'Warrant 2026/114', 'carol', " + s.t(version) + ", 'alice', " + s.t(version, 60) + ", '[\"gate\"]', '[]', " + s.t(version - 1) +
               ", " + s.t(version) + ", 'keyframes', 'dlib_resnet', 0.55, " + far + ", 'done', " + s.t(version, 600) +
               ", 0, '{\"frames\":1500,\"faces\":44}', '[]'),"
               "(2, '2026-115', 'Warrant 2026/115', 'carol', " + s.t(version, 700) + ", NULL, NULL, '[\"platform\"]', '[]', NULL, NULL, "
               "'rate:2', 'dlib_resnet', 0.55, " + far + ", 'pending', NULL, 0, '{}', '[]')");
  for (int id = 1; st && id <= 2; ++id)
    st = s.with_blobs("INSERT INTO search_probes (search_id, key_id, sealed, photo_name, photo_sha256) VALUES (" + std::to_string(id) + ", '" + key.id() +
                          "', ?, 'probe.jpg', 'shaprobe')",
                      {key.seal_probe(history_vector(100 + id), id, "dlib_resnet")});
  if (st)
    st = s.with_blobs("INSERT INTO search_visits (search_id, ordinal, source, camera, start_s, end_s, start_ms, end_ms, best_score, best_at_s, hits, crop) "
                      "VALUES (1, 1, 'gate', 'gate', 10.0, 14.5, " + std::to_string(ms + 10000) + ", " + std::to_string(ms + 14500) + ", 0.42, 12.0, 9, ?)",
                      {tiny_jpeg(9)});
  if (st)
    st = s.sql("INSERT INTO uploads (id, name, path, bytes, sha256, uploaded_by, created_at, finished_at, expires_at) VALUES "
               "(1, 'station.mp4', '/srv/glassbox/uploads/1.mp4', 1048576, 'ab', 'carol', " + s.t(version) + ", " + s.t(version, 30) + ", " + far + ")");
  return st;
}

}  // namespace glassbox::test
