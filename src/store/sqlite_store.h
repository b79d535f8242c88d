// SqliteWatchlistStore: the watchlist in one SQLite file, schema and migrations as written in
// docs/database-schema.md. Opened read-write (created on first use) by enrolment and approval,
// read-only by `watch`, which therefore cannot write anything about the faces it sees.
// Thread-safety: one instance per thread.
#pragma once

#include <memory>

#include "store/sqlite_database.h"
#include "store/template_key.h"
#include "store/watchlist_store.h"

namespace glassbox {

class SqliteWatchlistStore final : public WatchlistStore {
 public:
  static Result<std::unique_ptr<SqliteWatchlistStore>> open(const std::string& path, OpenMode mode);

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
  // key no longer opens anything afterwards.
  Result<int> rotate_template_key(const std::string& actor, UnixSeconds now);

  static constexpr int kSchemaVersion = SqliteDatabase::kSchemaVersion;

 private:
  Result<TemplateKey> template_key(bool create_if_missing);
  static std::filesystem::path next_template_key_path(const std::string& database);

  explicit SqliteWatchlistStore(std::unique_ptr<SqliteDatabase> db) : db_(std::move(db)) {}

  std::unique_ptr<SqliteDatabase> db_;
};

}  // namespace glassbox
