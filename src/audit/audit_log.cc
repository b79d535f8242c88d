#include "audit/audit_log.h"

#include <algorithm>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/json_text.h"
#include "core/service_clock.h"

namespace glassbox::audit {
namespace {

using nlohmann::json;

std::string blob_text(const Statement& s, int col) {
  const auto bytes = s.bytes(col);
  return std::string(bytes.begin(), bytes.end());
}

template <std::size_t N>
std::array<unsigned char, N> blob_array(const Statement& s, int col) {
  std::array<unsigned char, N> out{};
  const auto bytes = s.bytes(col);
  if (bytes.size() == N) std::memcpy(out.data(), bytes.data(), N);
  return out;
}

struct Row {
  std::uint64_t seq = 0;
  std::string record;
  merkle::Hash leaf{}, root{};
  Signature signature{};
};

Result<std::vector<Row>> read_rows(Database& db) {
  auto s = db.prepare("SELECT seq, record, leaf_hash, root, signature FROM audit_records ORDER BY seq");
  std::vector<Row> rows;
  while (true) {
    auto step = s->step();
    if (!step) return step.error().within("cannot read the audit log");
    if (*step == Step::kDone) break;
    Row r;
    r.seq = static_cast<std::uint64_t>(s->int64(0));
    r.record = s->text(1);
    r.leaf = blob_array<32>(*s, 2);
    r.root = blob_array<32>(*s, 3);
    r.signature = blob_array<64>(*s, 4);
    rows.push_back(std::move(r));
  }
  return rows;
}

Checkpoint record_checkpoint(const Row& row, const PublicKey& key) {
  Checkpoint c;
  c.log_id = log_id_of(key);
  c.size = row.seq + 1;
  c.root = row.root;
  c.time = json::parse(row.record).value("time", std::string());
  c.signature = row.signature;
  return c;
}

Status store_checkpoint(Database& db, const Checkpoint& c) {
  auto insert = db.prepare("INSERT INTO audit_checkpoints (size, root, time, signature) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
  insert->bind(1, static_cast<std::int64_t>(c.size));
  insert->bind_bytes(2, std::vector<unsigned char>(c.root.begin(), c.root.end()));
  insert->bind(3, c.time);
  insert->bind_bytes(4, std::vector<unsigned char>(c.signature.begin(), c.signature.end()));
  if (auto s = run(*insert); !s) return s.error().within("cannot store the checkpoint");
  return ok_status();
}

// A field of a record (canonical JSON, docs/audit-log.md), in each engine's JSON functions.
std::string record_field(const Database& db, const char* name) {
  return db.dialect() == Dialect::kSqlite ? std::string("json_extract(record, '$.") + name + "')"
                                          : std::string("(record::jsonb ->> '") + name + "')";
}

}  // namespace

Status append(Database& db, const std::string& key_base, const AuditEvent& event, UnixSeconds now) {
  if (key_base.empty()) return Error{db.describe() + ": no place for this node's audit keys was given (its key base); nothing audited can be done"};
  // On PostgreSQL two nodes may read the same last record at once; the second insert of the
  // same seq then fails as a serialization failure, and its transaction runs again on the new
  // head (Database::transaction): the log cannot fork.
  auto last = db.prepare("SELECT seq, frontier, " + record_field(db, "time") + " FROM audit_records ORDER BY seq DESC LIMIT 1");
  merkle::Frontier frontier;
  std::uint64_t seq = 0;
  auto step = last->step();
  if (!step) return step.error().within("audit log: cannot read the last record");
  if (*step == Step::kRow) {
    seq = static_cast<std::uint64_t>(last->int64(0)) + 1;
    auto parsed = merkle::Frontier::parse(blob_text(*last, 1));
    if (!parsed || parsed->size() != seq) return Error{db.describe() + ": audit log: the stored tree state is damaged; refusing to append"};
    frontier = *parsed;
    // Records are in time order whatever the wall clock of the process appending did (another
    // process's clock may be behind this one's): never before the newest record.
    if (auto newest = parse_time_utc(last->text(2)); newest) {
      service_clock().raise_floor_ms(*newest * 1000);
      now = std::max(now, *newest);
    }
  }
  auto keys = load_or_create_keys(key_base, /*create_if_missing=*/seq == 0);
  if (!keys) return keys.error().within("audit log");

  const std::string time = format_utc(now);
  const json record_json = {{"seq", seq}, {"time", time}, {"actor", event.actor}, {"action", event.action},
                            {"object", event.object}, {"details", event.details.is_object() ? event.details : json::object()}};
  // Sorted keys, no spaces; invalid UTF-8 in free text is replaced so the record stays canonical.
  const std::string record = to_json_text(record_json);
  const merkle::Hash leaf = merkle::leaf_hash(record);
  frontier.push(leaf);
  const Checkpoint head = sign_checkpoint(keys->secret_key, keys->public_key, seq + 1, frontier.root(), time);

  auto insert = db.prepare("INSERT INTO audit_records (seq, record, leaf_hash, root, signature, frontier) VALUES (?, ?, ?, ?, ?, ?)");
  insert->bind(1, static_cast<std::int64_t>(seq));
  insert->bind(2, record);
  insert->bind_bytes(3, std::vector<unsigned char>(leaf.begin(), leaf.end()));
  insert->bind_bytes(4, std::vector<unsigned char>(head.root.begin(), head.root.end()));
  insert->bind_bytes(5, std::vector<unsigned char>(head.signature.begin(), head.signature.end()));
  const std::string state = frontier.serialize();
  insert->bind_bytes(6, std::vector<unsigned char>(state.begin(), state.end()));
  if (auto s = run(*insert); !s) return s.error().within("audit log: cannot write the record, so the action is refused");
  return ok_status();
}

Result<std::vector<std::string>> read_records(Database& db) {
  auto rows = read_rows(db);
  if (!rows) return rows.error();
  std::vector<std::string> out;
  for (auto& r : *rows) out.push_back(std::move(r.record));
  return out;
}

Result<std::vector<nlohmann::json>> query_records(Database& db, const RecordFilter& f) {
  // An action ending in '.' is a prefix ("entry."), matched with LIKE, its wildcards escaped.
  const bool prefix = !f.action.empty() && f.action.back() == '.';
  std::string like = f.action;
  for (std::size_t at = like.find_first_of("%_\\"); at != std::string::npos; at = like.find_first_of("%_\\", at + 2)) like.insert(at, "\\");
  const std::string actor = record_field(db, "actor"), action = record_field(db, "action"), object = record_field(db, "object"),
                    time = record_field(db, "time");
  auto q = db.prepare("SELECT record FROM audit_records WHERE (?1 = '' OR " + actor + " = ?1) AND (?2 = '' OR " +
                      (prefix ? action + " LIKE ?8 ESCAPE '\\'" : action + " = ?2") + ") AND (?3 = '' OR " + object + " = ?3) AND (?4 = '' OR " +
                      time + " >= ?4) AND (?5 = '' OR " + time + " < ?5) AND (CAST(?6 AS BIGINT) < 0 OR seq < CAST(?6 AS BIGINT)) " +
                      "ORDER BY seq DESC LIMIT CAST(?7 AS BIGINT)");
  q->bind(1, f.actor);
  q->bind(2, f.action);
  q->bind(3, f.object);
  q->bind(4, f.from);
  q->bind(5, f.to);
  q->bind(6, f.before_seq);
  q->bind(7, static_cast<std::int64_t>(std::clamp(f.limit, 1, 1000)));
  if (prefix) q->bind(8, like + "%");  // only when the SQL names it: PostgreSQL refuses a parameter it cannot type
  std::vector<nlohmann::json> out;
  while (true) {
    auto step = q->step();
    if (!step) return step.error().within("audit log: cannot read records");
    if (*step == Step::kDone) break;
    out.push_back(nlohmann::json::parse(q->text(0), nullptr, /*allow_exceptions=*/false));
  }
  return out;
}

Status raise_clock_floor(Database& db) {
  auto newest = db.prepare("SELECT " + record_field(db, "time") + " FROM audit_records ORDER BY seq DESC LIMIT 1");
  auto step = newest->step();
  if (!step) return step.error().within("audit log: cannot read the newest record's time");
  if (*step == Step::kDone) return ok_status();
  auto time = parse_time_utc(newest->text(0));
  if (!time) return time.error().within("audit log: the newest record's time");
  service_clock().raise_floor_ms(*time * 1000);
  return ok_status();
}

Result<Checkpoint> make_checkpoint(Database& db, const std::string& key_base, UnixSeconds now) {
  auto last = db.prepare("SELECT seq, root FROM audit_records ORDER BY seq DESC LIMIT 1");
  auto step = last->step();
  if (!step) return step.error().within("audit log");
  if (*step != Step::kRow) return Error{db.describe() + ": the audit log is empty; there is nothing to sign"};
  const std::uint64_t size = static_cast<std::uint64_t>(last->int64(0)) + 1;
  const merkle::Hash root = blob_array<32>(*last, 1);
  auto keys = load_or_create_keys(key_base, false);
  if (!keys) return keys.error();
  const Checkpoint c = sign_checkpoint(keys->secret_key, keys->public_key, size, root, format_utc(now));
  if (auto s = store_checkpoint(db, c); !s) return s.error();
  return c;
}

Result<std::uint64_t> export_log(Database& db, const std::string& key_base, const std::string& actor, const std::string& out, UnixSeconds now) {
  const std::string name = std::filesystem::path(out).filename().string();
  if (auto s = db.transaction([&] { return append(db, key_base, {actor, "audit.export", "audit", {{"file", name}}}, now); }); !s) return s.error();
  auto rows = read_rows(db);
  if (!rows) return rows.error();
  auto keys = load_or_create_keys(key_base, false);
  if (!keys) return keys.error();
  // The export's own record is the newest; its signed head is also kept as a checkpoint.
  if (auto s = store_checkpoint(db, record_checkpoint(rows->back(), keys->public_key)); !s) return s.error();
  auto cps = db.prepare("SELECT size, root, time, signature FROM audit_checkpoints ORDER BY size");
  std::vector<Checkpoint> checkpoints;
  while (true) {
    auto step = cps->step();
    if (!step) return step.error().within("cannot read the checkpoints");
    if (*step == Step::kDone) break;
    Checkpoint c;
    c.log_id = log_id_of(keys->public_key);
    c.size = static_cast<std::uint64_t>(cps->int64(0));
    c.root = blob_array<32>(*cps, 1);
    c.time = cps->text(2);
    c.signature = blob_array<64>(*cps, 3);
    checkpoints.push_back(c);
  }
  const std::string partial = out + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) return Error{out + ": cannot write the export"};
    const json header = {{"format", "glassbox-audit-export/v1"},
                         {"log", log_id_of(keys->public_key)},
                         {"public_key", hex(keys->public_key)},
                         {"records", rows->size()},
                         {"checkpoints", checkpoints.size()}};
    file << header.dump() << "\n";
    for (const Row& r : *rows) file << r.record << "\t" << record_checkpoint(r, keys->public_key).to_json().dump() << "\n";
    for (const Checkpoint& c : checkpoints) file << json{{"checkpoint", c.to_json()}}.dump() << "\n";
    file.flush();
    if (!file) return Error{out + ": cannot write the export"};
  }
  std::error_code ec;
  std::filesystem::rename(partial, out, ec);
  if (ec) return Error{out + ": cannot move the export into place: " + ec.message()};
  return static_cast<std::uint64_t>(rows->size());
}

Result<json> inclusion_proof_json(Database& db, const std::string& key_base, std::uint64_t seq) {
  auto rows = read_rows(db);
  if (!rows) return rows.error();
  if (seq >= rows->size()) return Error{"record " + std::to_string(seq) + " does not exist (the log has " + std::to_string(rows->size()) + ")"};
  auto key = read_public_key(public_key_path(key_base));
  if (!key) return key.error();
  std::vector<merkle::Hash> leaves;
  for (const Row& r : *rows) leaves.push_back(r.leaf);
  json path = json::array();
  for (const auto& h : merkle::inclusion_proof(leaves, seq, leaves.size())) path.push_back(merkle::to_hex(h));
  return json{{"record", (*rows)[seq].record}, {"seq", seq}, {"checkpoint", record_checkpoint(rows->back(), *key).to_json()}, {"path", path}};
}

}  // namespace glassbox::audit
