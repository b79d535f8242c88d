// WatchlistStore: the persistent watchlist — entries with their legal basis, provenance,
// submitter, approver and expiry, and their templates per model profile. SqlWatchlistStore
// implements it on either backend (store/database.h). Schema: docs/database-schema.md.
// Thread-safety: one store object per thread (connections are not shared here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/dates.h"
#include "core/result.h"
#include "match/watchlist_matrix.h"

namespace glassbox {

struct NewEntry {
  std::string subject;
  std::string legal_basis;
  std::string photo_source;
  std::string submitted_by;
  UnixSeconds expires_at = 0;
  std::vector<std::string> scope = {};  // cameras it may match on; empty: all
};

struct EntryTemplate {
  std::string profile;
  std::vector<float> vector;
  std::string photo_name;
  std::string photo_sha256;
  // The photo re-encoded as a JPEG (no metadata), kept sealed for the people who review the
  // entry's alerts; empty: not kept (the template alone is stored).
  std::vector<unsigned char> reference_jpeg = {};
};

// What is known of a kept reference photo without opening it.
struct ReferencePhotoInfo {
  int position = 0;  // 1, 2, ... in the order of enrolment
  std::string name;
  std::string sha256;
};

enum class EntryStatus { kPending, kActive, kRevoked };
const char* entry_status_name(EntryStatus status);

struct EntryRecord {
  std::int64_t id = 0;
  std::string subject;
  std::string legal_basis;
  std::string photo_source;
  std::string submitted_by;
  UnixSeconds submitted_at = 0;
  UnixSeconds expires_at = 0;
  EntryStatus status = EntryStatus::kPending;
  std::optional<std::string> approved_by;
  std::optional<UnixSeconds> approved_at;
  std::optional<std::string> revoked_by;
  std::optional<UnixSeconds> revoked_at;
  std::optional<std::string> revoke_reason;
  std::vector<std::string> scope;
  int template_count = 0;
  std::vector<ReferencePhotoInfo> photos = {};
  // When its templates and photos were deleted, some time after it ended (revoked or expired).
  std::optional<UnixSeconds> biometrics_deleted_at = {};
};

// An entry as JSON for people and programs (never its templates): the API's and `entries`' form.
nlohmann::json entry_to_json(const EntryRecord& entry, UnixSeconds now);

class WatchlistStore {
 public:
  virtual ~WatchlistStore() = default;

  // Stores a pending entry and its templates atomically; returns the new entry's id.
  virtual Result<std::int64_t> add_pending_entry(const NewEntry& entry, const std::vector<EntryTemplate>& templates,
                                                 UnixSeconds now) = 0;
  // Activates a pending, unexpired entry. Refused when the approver submitted it.
  virtual Status approve_entry(std::int64_t entry_id, const std::string& approver, UnixSeconds now) = 0;
  // Ends a pending or active entry for good: it never matches again. Needs who and why.
  virtual Status revoke_entry(std::int64_t entry_id, const std::string& revoked_by, const std::string& reason,
                              UnixSeconds now) = 0;
  virtual Result<std::optional<EntryRecord>> get_entry(std::int64_t entry_id) = 0;
  virtual Result<std::vector<EntryRecord>> list_entries() = 0;
  // Templates of the entries that may match at `now` (active and unexpired), for one profile.
  virtual Result<std::vector<WatchlistTemplate>> active_templates(const std::string& profile, UnixSeconds now) = 0;
  // Active, unexpired entries that have no template for `profile` (they cannot match with it).
  virtual Result<std::vector<std::int64_t>> active_entries_without(const std::string& profile, UnixSeconds now) = 0;
  // A kept reference photo of an entry, opened (a JPEG); nullopt when there is none at `position`.
  virtual Result<std::optional<std::vector<unsigned char>>> reference_photo(std::int64_t entry_id, int position) = 0;
  // Deletes the templates and reference photos of entries that ended (revoked, or expired)
  // before `ended_before`, audited as entry.biometrics.delete by `actor`; returns how many entries.
  virtual Result<int> delete_ended_biometrics(UnixSeconds ended_before, const std::string& actor, UnixSeconds now) = 0;
};

}  // namespace glassbox
