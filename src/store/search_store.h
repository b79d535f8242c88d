// Searches of recordings in the database, on either backend (store/database.h; docs/search.md;
// SQLite schema v9, PostgreSQL v6; claims v14/v9; parts in store/search_parts.h): a request with its case, legal basis, recordings, window and
// sealed probe templates; its approval by someone else; its run, result (visits with one crop
// each) and expiry. Every change appends its audit record in
// the same transaction (fail closed). Probes are deleted when a search ends; visits and crops
// when it expires.
// Thread-safety: functions on a connection the caller owns (one thread at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/camera_leases.h"
#include "core/dates.h"
#include "enroll/enrollment.h"
#include "ingest/sampling_mode.h"
#include "search/search_runner.h"
#include "store/database.h"
#include "store/template_key.h"
#include "store/watchlist_store.h"

namespace glassbox {

struct SearchRequest {
  std::string case_id;
  std::string legal_basis;
  std::string requested_by;
  std::vector<std::string> cameras;  // recorded cameras, searched inside the window
  std::vector<std::string> files;    // or files, as named
  std::optional<UnixSeconds> window_from;
  std::optional<UnixSeconds> window_to;
  SamplingMode mode;
  std::string profile;
  double threshold = 0.0;
  UnixSeconds expires_at = 0;
};

// Every problem at once, each naming its field as the command line or the API calls it.
Status validate_search_request(const SearchRequest& request, std::size_t probes, UnixSeconds now, FieldNames names);

struct StoredSearch {
  std::int64_t id = 0;
  SearchRequest request;
  std::string status;                 // pending, approved, running, done, cancelled, failed
  UnixSeconds requested_at = 0;
  std::optional<std::string> approved_by;
  std::optional<UnixSeconds> approved_at;
  std::optional<UnixSeconds> finished_at;
  bool expired = false;
  nlohmann::json stats = nlohmann::json::object();
  nlohmann::json errors = nlohmann::json::array();
  std::optional<std::string> runner;  // the node that runs it (or last ran it)
  int runs = 0;                       // times started: more than 1 when a runner died and another took it
  std::optional<std::string> cancel_requested_by;
};

// A node's claim on the search it runs (docs/cluster.md, "Searches across nodes"): it holds for
// claim_ms unless renewed; a search whose claim ran out is taken by another node and run again.
struct SearchClaim {
  std::string node = "local";
  std::int64_t claim_ms = 30000;
};
struct ClaimState {
  bool ours = false;             // still this node's
  bool cancel_requested = false;  // someone asked, through any node, to cancel it
};
std::int64_t unix_ms_now();

// Stores a pending search with its probes sealed under `key`, and its search.request record.
Result<std::int64_t> request_search(Database& db, const SearchRequest& request, const std::vector<EntryTemplate>& probes,
                                    const TemplateKey& key, UnixSeconds now);
// Approval by `approver`: refused for the requester, for a search not pending, or expired.
Status approve_search(Database& db, std::int64_t id, const std::string& approver, UnixSeconds now);
// approved — or running under a claim that ran out — -> running under `claim`, with its
// search.run record (naming the node, and the one it was taken from).
Status start_search(Database& db, std::int64_t id, UnixSeconds now, const SearchClaim& claim = {});
// Extends the claim; says whether it is still `node`'s and whether a cancellation is waiting.
Result<ClaimState> renew_search(Database& db, std::int64_t id, const SearchClaim& claim);
// Asks the node that runs the search to cancel it (audited now, as `actor`'s search.cancel).
Status request_search_cancel(Database& db, std::int64_t id, const std::string& actor, UnixSeconds now);
// At a node's start: the searches it was running when it died, and the parts of searches it was
// searching, are let go at once, for it or another node to run again. Returns how many searches.
Result<int> release_searches(Database& db, const std::string& node);
// Cancels a search that has not started (pending or approved); a running one is cancelled by
// its runner and finished as cancelled.
Status cancel_search(Database& db, std::int64_t id, const std::string& actor, UnixSeconds now);
// Stores the outcome (visits with JPEG crops, errors, counts), deletes the probes, and records
// search.finish (status done, or cancelled when the outcome says so) — refused, with nothing
// written, when the search is no longer claim.node's.
Status finish_search(Database& db, std::int64_t id, const SearchOutcome& outcome, UnixSeconds now, const SearchClaim& claim = {});
// The run failed as a whole (models, no recording): status failed, probes deleted.
Status fail_search(Database& db, std::int64_t id, const std::string& reason, UnixSeconds now, const std::optional<SearchClaim>& claim = std::nullopt);
// Deletes visits and crops of every search past its expiry (search.expire each); returns how many.
Result<int> expire_searches(Database& db, UnixSeconds now);

Result<std::optional<StoredSearch>> load_search(Database& db, std::int64_t id);
// The searches in approval order that are approved and waiting to run.
Result<std::vector<std::int64_t>> approved_searches(Database& db);
// Those to run now: approved, or running under a claim that ran out; oldest first.
Result<std::vector<std::int64_t>> searches_to_run(Database& db, std::int64_t now_ms);
Result<std::vector<std::vector<float>>> probe_templates(Database& db, std::int64_t id, const TemplateKey& key);

// Metadata, status and counts: what GET /api/searches/{id} shows (no visits).
nlohmann::json search_to_json(const StoredSearch& search);
Result<nlohmann::json> list_searches_json(Database& db);
// The result object of docs/search.md: metadata, visits, errors, stats.
Result<nlohmann::json> search_result_json(Database& db, const StoredSearch& search);
// The JPEG of visit `ordinal` (1-based); nullopt when there is none (or it expired).
Result<std::optional<std::vector<unsigned char>>> visit_crop(Database& db, std::int64_t id, int ordinal);

// The segment index (recording_segments).
struct RecordedSegment {
  std::int64_t id = 0;
  std::string camera;
  std::string path;
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
  std::int64_t bytes = 0;
  std::string node;  // the cluster node that recorded it (fenced writes); empty on one machine
};
// With `fence` (a leased camera's, PostgreSQL): indexed only while the lease holds, in the same
// statement; otherwise CameraLeases::is_fenced() recognises the error.
Result<std::int64_t> add_segment(Database& db, const std::string& camera, const std::string& path, std::int64_t start_ms,
                                 const std::optional<WriteFence>& fence = std::nullopt);
Status complete_segment(Database& db, std::int64_t id, std::int64_t end_ms, std::int64_t bytes);
Status drop_segment(Database& db, std::int64_t id);
// Finished segments of `camera` overlapping [from_ms, to_ms), oldest first.
Result<std::vector<RecordedSegment>> segments_in_window(Database& db, const std::string& camera, std::int64_t from_ms,
                                                        std::int64_t to_ms);
// Segments left unfinished (by a crash).
Result<std::vector<RecordedSegment>> unfinished_segments(Database& db);
// A purge in two steps, so that nothing is recorded as purged while its file remains: the
// finished segments of `camera` that ended before `before_ms`; then, after the caller deleted
// the files it could, those segments' rows with one recording.purge record.
Result<std::vector<RecordedSegment>> segments_to_purge(Database& db, const std::string& camera, std::int64_t before_ms);
Status remove_purged_segments(Database& db, const std::string& camera, const std::vector<RecordedSegment>& purged, UnixSeconds now);
// The recordings a camera search reads: the segments overlapping the window, each limited to it.
Result<std::vector<SearchRecording>> camera_recordings(Database& db, const std::vector<std::string>& cameras,
                                                       UnixSeconds from, UnixSeconds to);

// Recordings uploaded through the API for a search (docs/search.md, "Uploads"): created empty,
// filled by appending chunks at the offset the server holds, finished with the file's SHA-256
// (checked), and deleted with an audit record when they expire.
struct Upload {
  std::int64_t id = 0;
  std::string name;
  std::string path;
  std::int64_t bytes = 0;
  std::optional<std::string> sha256;  // set once finished
  std::string uploaded_by;
  UnixSeconds created_at = 0;
  UnixSeconds expires_at = 0;
  nlohmann::json to_json() const;
};
Result<Upload> create_upload(Database& db, const std::string& name, const std::string& folder, const std::string& actor,
                             UnixSeconds now, UnixSeconds expires_at);
Result<std::optional<Upload>> load_upload(Database& db, std::int64_t id);
// One user's uploads that have not expired, newest first: what a client resumes or searches.
Result<std::vector<Upload>> list_uploads(Database& db, const std::string& uploaded_by, UnixSeconds now);
// How large uploads may grow: one upload, and all of one user's (finished or not) together.
struct UploadLimits {
  std::int64_t max_bytes = std::int64_t{20} << 30;
  std::int64_t quota_bytes = std::int64_t{100} << 30;
};
// Appends `bytes` at `offset`, which must be the upload's size so far; only its uploader may,
// only before it is finished, and only within `limits`. A write that fails is cut back off the
// file, so the file and its row never disagree.
Result<Upload> append_upload(Database& db, std::int64_t id, std::int64_t offset, const std::string& bytes, const std::string& actor,
                             const UploadLimits& limits = {});
// Finishing in two steps, so the file is hashed without holding the caller's lock: the upload as
// it is now (only its uploader's, not finished), then, after the caller checked the hash, the
// finish itself (upload.finish record), refused if the file grew meanwhile.
Result<Upload> upload_to_finish(Database& db, std::int64_t id, const std::string& actor);
Result<Upload> commit_finish(Database& db, const Upload& hashed, const std::string& sha256, const std::string& actor, UnixSeconds now);
// Both steps at once, the file hashed in between (the command line, tests).
Result<Upload> finish_upload(Database& db, std::int64_t id, const std::string& sha256, const std::string& actor, UnixSeconds now);
// Deletes expired uploads, and uploads left unfinished since `unfinished_before`, each with an
// upload.purge record — but never one a search still waiting or running names. The file goes
// first: one that cannot be deleted keeps its row (and is counted, and tried again).
struct PurgeCount {
  int purged = 0;
  int failed = 0;
};
Result<PurgeCount> purge_uploads(Database& db, UnixSeconds now, UnixSeconds unfinished_before = 0);

}  // namespace glassbox
