// SqlWatchlistStore: the watchlist on either backend (store/database.h) — an SQLite file on one
// machine, or PostgreSQL for a cluster — with the same SQL, schemas and invariants written in
// docs/database-schema.md. Opened read-write (created on first use) by enrolment and approval;
// `watch` opens the SQLite file read-only, and so cannot write anything about the faces it sees.
// The template key is never in the database: it is a file at <key base>.template-key, beside
// the SQLite file or at a node-local path of a cluster's node (docs/cluster.md, "The template
// key"), and every sealed row names the key that sealed it.
// Thread-safety: one instance per thread.
#pragma once

#include <filesystem>
#include <memory>

#include "store/database.h"
#include "store/sqlite_database.h"
#include "store/template_key.h"
#include "store/watchlist_store.h"

namespace glassbox {

class SqlWatchlistStore final : public WatchlistStore {
 public:
  // The SQLite file at `path`, its keys beside it.
  static Result<std::unique_ptr<SqlWatchlistStore>> open(const std::string& path, OpenMode mode);
  // Any backend; the template key and the audit log's keys are the connection's node's
  // (Database::key_base): <key base>.template-key, <key base>.audit-key.
  explicit SqlWatchlistStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Result<std::int64_t> add_pending_entry(const NewEntry& entry, const std::vector<EntryTemplate>& templates,
                                         UnixSeconds now) override;
  Status approve_entry(std::int64_t entry_id, const std::string& approver, UnixSeconds now) override;
  Status revoke_entry(std::int64_t entry_id, const std::string& revoked_by, const std::string& reason,
                      UnixSeconds now) override;
  Result<std::optional<EntryRecord>> get_entry(std::int64_t entry_id) override;
  Result<std::vector<EntryRecord>> list_entries() override;
  Result<std::vector<WatchlistTemplate>> active_templates(const std::string& profile, UnixSeconds now) override;
  Result<std::vector<std::int64_t>> active_entries_without(const std::string& profile, UnixSeconds now) override;
  Result<std::optional<std::vector<unsigned char>>> reference_photo(std::int64_t entry_id, int position) override;
  Result<int> delete_ended_biometrics(UnixSeconds ended_before, const std::string& actor, UnixSeconds now) override;

  // Re-encrypts every template under a new key (audited by `actor`); returns how many. The old
  // key no longer opens anything afterwards. In a cluster, the new key must then be given to
  // every node (docs/cluster.md).
  Result<int> rotate_template_key(const std::string& actor, UnixSeconds now);

  // The key to seal with (templates, photos, search probes): this node's key file, which must be
  // the one the stored templates name — made only for a watchlist that has none yet. An error
  // tells the operator which key to give this node (docs/cluster.md, "The template key").
  Result<TemplateKey> sealing_key();

 private:
  // Refuses `key` when the stored templates were sealed with another.
  Status check_sealing_key(const TemplateKey& key);
  Result<TemplateKey> template_key(bool create_if_missing);
  // The key that sealed the stored templates and photos (any one row's); "" when none is stored.
  Result<std::string> sealing_key_id();
  std::filesystem::path next_template_key_path() const;
  Result<std::vector<EntryRecord>> read_entries(const std::string& where, std::optional<std::int64_t> entry_id);

  std::unique_ptr<Database> db_;
};

}  // namespace glassbox
