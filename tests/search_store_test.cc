// Searches in the database (docs/search.md), on both backends (store conformance,
// docs/cluster.md): the four-eyes rule, sealed probes deleted when the search ends, visits
// deleted at expiry, a running search claimed by one node and run again by another when its
// runner dies, its recordings spread over nodes as parts, the segment index and its audited purge, uploads; and the small parsers the
// search command relies on.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "audit/audit_log.h"
#include "store/search_parts.h"
#include "store/search_store.h"
#include "support/backends.h"

namespace glassbox {
namespace {

const UnixSeconds kNow = *parse_date_utc("2026-12-01") + 9 * 3600;

using test::Backend;

class SearchStoreTest : public test::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    ASSERT_TRUE(migrate(*db_));
    auto k = TemplateKey::load(key_base(), true);
    ASSERT_TRUE(k);
    key_ = *k;
  }
  SearchRequest request() const {
    SearchRequest r;
    r.case_id = "2026-114";
    r.legal_basis = "Warrant 2026/114";
    r.requested_by = "olga";
    r.files = {"cam.mp4"};
    r.profile = "p";
    r.threshold = 0.5;
    r.expires_at = kNow + 30 * 86400;
    return r;
  }
  std::vector<EntryTemplate> probes() const { return {EntryTemplate{"p", probe_, "probe.jpg", "ab"}}; }
  std::vector<std::string> actions() {
    std::vector<std::string> out;
    auto records = audit::read_records(*db_);
    for (const auto& r : *records) out.push_back(nlohmann::json::parse(r)["action"]);
    return out;
  }

  TemplateKey key_ = TemplateKey::generate();
  std::vector<float> probe_ = {0.125f, -0.5f, 0.75f, 0.0625f};
};

TEST_P(SearchStoreTest, ASearchRunsOnlyAfterAnotherPersonApprovesAndItsProbeIsSealedThenDeleted) {
  auto id = request_search(*db_, request(), probes(), key_, kNow);
  ASSERT_TRUE(id) << id.error().message;
  const std::string plaintext(reinterpret_cast<const char*>(probe_.data()), probe_.size() * sizeof(float));
  auto sealed = db_->prepare("SELECT sealed FROM search_probes");
  ASSERT_EQ(*sealed->step(), Step::kRow);
  const auto sealed_bytes = sealed->bytes(0);
  sealed.reset();  // its read would keep the checkpoint below from finishing
  EXPECT_EQ(std::string(sealed_bytes.begin(), sealed_bytes.end()).find(plaintext), std::string::npos) << "the probe is kept sealed only";
  if (!postgres()) {
    ASSERT_TRUE(db_->execute("PRAGMA wal_checkpoint(TRUNCATE)"));
    EXPECT_EQ(test::read_file(key_base()).find(plaintext), std::string::npos) << "nor in the file";
  }
  auto opened = probe_templates(*db_, *id, key_);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->front(), probe_);

  EXPECT_FALSE(start_search(*db_, *id, kNow)) << "not approved";
  auto own = approve_search(*db_, *id, "olga", kNow);
  ASSERT_FALSE(own);
  EXPECT_NE(own.error().message.find("someone other than"), std::string::npos);
  EXPECT_FALSE(db_->execute("UPDATE searches SET approved_by = 'olga', approved_at = 1, status = 'approved' WHERE id = " + std::to_string(*id)))
      << "the database refuses a self-approval too";
  ASSERT_TRUE(approve_search(*db_, *id, "alice", kNow + 10));
  EXPECT_FALSE(approve_search(*db_, *id, "carol", kNow + 20)) << "approved once";
  EXPECT_FALSE(db_->execute("UPDATE searches SET approved_by = 'carol' WHERE id = " + std::to_string(*id))) << "an approval is final";
  ASSERT_TRUE(start_search(*db_, *id, kNow + 30));

  SearchOutcome outcome;
  Visit v;
  v.source = "cam.mp4";
  v.start_s = 12;
  v.end_s = 16;
  v.best_score = 0.4;
  v.best_at_s = 14;
  v.hits = 3;
  v.crop = cv::Mat(40, 30, CV_8UC3, cv::Scalar(10, 200, 30));
  outcome.visits = {v, v};
  outcome.errors = {RecordingError{"bad.mp4", "bad.mp4: cannot open as video"}};
  outcome.stats.footage_s = 120;
  ASSERT_TRUE(finish_search(*db_, *id, outcome, kNow + 60));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM search_probes"), 0) << "the probe goes when the search ends";
  EXPECT_FALSE(probe_templates(*db_, *id, key_));
  auto stored = load_search(*db_, *id);
  ASSERT_TRUE(stored && stored->has_value());
  EXPECT_EQ((*stored)->status, "done");
  auto result = search_result_json(*db_, **stored);
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["visits"].size(), 2u);
  EXPECT_EQ((*result)["errors"][0]["recording"], "bad.mp4");
  auto crop = visit_crop(*db_, *id, 2);
  ASSERT_TRUE(crop && crop->has_value());
  EXPECT_GT((*crop)->size(), 100u);
  EXPECT_EQ(actions(), (std::vector<std::string>{"search.request", "search.approve", "search.run", "search.finish"}));
}

// Two nodes on two connections: one claims the search, the other cannot while the claim is
// renewed; once it runs out (the runner died) the other takes it — run 2, audited with whom it
// was taken from — and the first, waking, finds its claim gone and can store nothing. A
// cancellation asked of a node that does not run the search reaches the runner at its renewal.
// A node that restarts lets its own running searches go at once.
TEST_P(SearchStoreTest, ARunningSearchIsClaimedByOneNodeAndRetakenWhenItsRunnerDies) {
  auto id = request_search(*db_, request(), probes(), key_, kNow);
  ASSERT_TRUE(id && approve_search(*db_, *id, "alice", kNow));
  auto other = open_with_schema();
  const SearchClaim a{"a", 60000}, b{"b", 60000}, brief{"a", 1};
  EXPECT_EQ(*searches_to_run(*db_, unix_ms_now()), std::vector<std::int64_t>{*id});
  ASSERT_TRUE(start_search(*db_, *id, kNow, a));
  auto refused = start_search(*other, *id, kNow, b);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("running on node a"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(searches_to_run(*other, unix_ms_now())->empty()) << "a live claim is nobody else's to run";
  EXPECT_TRUE(renew_search(*db_, *id, a)->ours);
  // Node a's claim runs out (renewed for 1 ms, then not again): node b takes the search.
  ASSERT_TRUE(renew_search(*db_, *id, brief)->ours);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(*searches_to_run(*other, unix_ms_now()), std::vector<std::int64_t>{*id});
  ASSERT_TRUE(start_search(*other, *id, kNow + 5, b));
  auto stored = load_search(*db_, *id);
  EXPECT_EQ((*stored)->runner, "b");
  EXPECT_EQ((*stored)->runs, 2);
  EXPECT_FALSE(renew_search(*db_, *id, a)->ours) << "node a, waking, finds it gone";
  SearchOutcome outcome;
  auto stale = finish_search(*db_, *id, outcome, kNow + 6, a);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("now run by node b"), std::string::npos) << stale.error().message;
  EXPECT_FALSE(fail_search(*db_, *id, "?", kNow + 6, a)) << "nor fail it";
  // Cancelled through node a: the runner, b, learns it at its renewal.
  EXPECT_FALSE(renew_search(*other, *id, b)->cancel_requested);
  ASSERT_TRUE(request_search_cancel(*db_, *id, "olga", kNow + 7));
  EXPECT_TRUE(renew_search(*other, *id, b)->cancel_requested);
  // Node b restarts: its search is let go at once, and runs again.
  EXPECT_EQ(*release_searches(*other, "b"), 1);
  ASSERT_TRUE(start_search(*other, *id, kNow + 8, b));
  EXPECT_FALSE(renew_search(*other, *id, b)->cancel_requested) << "a new run starts without the old run's cancellation";
  outcome.cancelled = true;
  ASSERT_TRUE(finish_search(*other, *id, outcome, kNow + 9, b));
  EXPECT_EQ((*load_search(*db_, *id))->status, "cancelled");
  auto records = audit::read_records(*db_);
  ASSERT_TRUE(records);
  int runs = 0, taken = 0;
  for (const auto& r : *records) {
    const auto j = nlohmann::json::parse(r);
    if (j["action"] != "search.run") continue;
    ++runs;
    taken += j["details"].value("taken_from", "") == "a";
  }
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(taken, 1) << "the retake names whom it was taken from";
}

// A cluster's search as parts (docs/cluster.md, "Searches across nodes"): written once, claimed
// by one node each (its own recordings first), retaken when a claim runs out, stored only under
// the claim that holds, read back to the bit (times, scores, crops), and gone with the search.
TEST_P(SearchStoreTest, ASearchsPartsAreClaimedOnceStoredUnderTheirClaimAndGoWithTheSearch) {
  auto id = request_search(*db_, request(), probes(), key_, kNow);
  ASSERT_TRUE(id && approve_search(*db_, *id, "alice", kNow));
  auto other = open_with_schema();
  const SearchClaim a{"a", 60000}, b{"b", 60000}, brief{"b", 1};
  std::vector<PartWork> work(3);
  for (int i = 0; i < 3; ++i) {
    work[i].recording.source = "gate";
    work[i].recording.camera = "gate";
    work[i].recording.path = "/rec/gate/" + std::to_string(i) + ".mkv";
    work[i].recording.start_ms = 1'000'000 + i * 60'000;
    work[i].recording.from_s = i == 0 ? 12.5 : 0.0;
    work[i].recording.duration_s = 60.0;
    work[i].recording.recorded_by = i == 2 ? "b" : "a";
    work[i].piece_s = 30.0;
    work[i].detect_size = 480;
  }
  ASSERT_TRUE(start_search(*db_, *id, kNow, a));
  auto parts = plan_search_parts(*db_, *id, work, unix_ms_now());
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].work.to_json(), work[0].to_json()) << "what to read and how, kept as planned";
  EXPECT_EQ((*parts)[2].work.recording.recorded_by, "b");
  std::vector<PartWork> replanned(1);
  EXPECT_EQ(plan_search_parts(*other, *id, replanned, unix_ms_now())->size(), 3u) << "a coordinator that takes over keeps the plan";

  // Node b is offered its own recording first; one claim each.
  auto offered = claimable_search_parts(*other, "b", unix_ms_now(), std::nullopt, 10);
  ASSERT_TRUE(offered && offered->size() == 3u);
  EXPECT_EQ(offered->front().part, 2);
  ASSERT_TRUE(*claim_search_part(*other, *id, 2, b, unix_ms_now()));
  EXPECT_FALSE(*claim_search_part(*db_, *id, 2, a, unix_ms_now())) << "a live claim is nobody else's";
  ASSERT_TRUE(*claim_search_part(*db_, *id, 0, a, unix_ms_now()));
  ASSERT_TRUE(*claim_search_part(*other, *id, 1, brief, unix_ms_now()));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Node b's claim on part 1 ran out: node a takes it, and b's result for it is refused.
  auto left = claimable_search_parts(*db_, "a", unix_ms_now(), *id, 10);
  ASSERT_TRUE(left && left->size() == 1u);
  EXPECT_EQ(left->front().part, 1);
  ASSERT_TRUE(*claim_search_part(*db_, *id, 1, a, unix_ms_now()));
  EXPECT_FALSE(*renew_search_parts(*other, *id, {1, 2}, b)) << "node b, waking, finds part 1 gone";
  EXPECT_TRUE(*renew_search_parts(*other, *id, {2}, b));
  RecordingHits found;
  found.hits.push_back(SearchHit{0, 1.0 / 3.0, 0.41234567890123456, cv::Mat(8, 6, CV_8UC3, cv::Scalar(10, 200, 30))});
  found.hits.push_back(SearchHit{0, 2.0 / 3.0, std::nullopt, {}});
  found.stats.recordings = 1;
  found.stats.faces_compared = 7;
  found.stats.recordings_by_node["b"] = 1;
  auto stale = store_search_part(*other, *id, 1, found, b);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("no longer node b's"), std::string::npos) << stale.error().message;
  ASSERT_TRUE(store_search_part(*other, *id, 2, found, b));
  EXPECT_FALSE(store_search_part(*other, *id, 2, found, b)) << "a part is stored once";
  RecordingHits damaged;
  damaged.error = "/rec/gate/0.mkv: damaged";
  ASSERT_TRUE(store_search_part(*db_, *id, 0, damaged, a));

  auto results = search_part_results(*db_, *id);
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0]->error, damaged.error);
  EXPECT_FALSE((*results)[1].has_value()) << "part 1 is not done";
  const RecordingHits& back = *(*results)[2];
  ASSERT_EQ(back.hits.size(), 2u);
  EXPECT_EQ(back.hits[0].recording, 2u) << "hits name their part";
  EXPECT_EQ(back.hits[0].t, 1.0 / 3.0) << "to the last bit";
  EXPECT_EQ(back.hits[0].score, 0.41234567890123456);
  ASSERT_EQ(back.hits[0].crop.size(), cv::Size(6, 8));
  EXPECT_EQ(cv::norm(back.hits[0].crop, found.hits[0].crop, cv::NORM_INF), 0.0) << "the crop, pixel for pixel";
  EXPECT_FALSE(back.hits[1].score.has_value());
  EXPECT_TRUE(back.hits[1].crop.empty());
  EXPECT_EQ(back.stats.faces_compared, 7);
  EXPECT_EQ(back.stats.recordings_by_node.at("b"), 1);
  auto summary = summarize_search_parts(*db_, *id);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->total, 3);
  EXPECT_EQ(summary->done, 2);
  EXPECT_EQ(summary->pending, 0);
  const auto shown = summary->to_json();
  ASSERT_EQ(shown["running"].size(), 1u) << shown.dump();
  EXPECT_EQ(shown["running"][0]["runner"], "a");
  EXPECT_EQ(shown["running"][0]["runs"], 2);
  EXPECT_EQ(shown["running"][0]["source"], "gate");

  // Node a restarts: its part goes back at once; the search's finish deletes every part and hit.
  ASSERT_TRUE(release_searches(*db_, "a"));
  EXPECT_EQ(claimable_search_parts(*other, "b", unix_ms_now(), *id, 10)->size(), 1u);
  SearchOutcome outcome;
  ASSERT_TRUE(start_search(*db_, *id, kNow + 1, a));
  ASSERT_TRUE(finish_search(*db_, *id, outcome, kNow + 2, a));
  EXPECT_TRUE(load_search_parts(*db_, *id)->empty());
  EXPECT_EQ(*query_int64(*db_, "SELECT count(*) FROM search_part_hits", "counting hits"), 0);
  EXPECT_FALSE(*renew_search_parts(*other, *id, {2}, b)) << "a runner finds its search ended";
}

TEST_P(SearchStoreTest, ResultsAreDeletedWhenTheSearchExpiresAndUnstartedSearchesAreCancelled) {
  auto done = request_search(*db_, request(), probes(), key_, kNow);
  ASSERT_TRUE(done && approve_search(*db_, *done, "alice", kNow) && start_search(*db_, *done, kNow));
  SearchOutcome outcome;
  Visit v;
  v.source = "cam.mp4";
  v.best_score = 0.4;
  v.hits = 1;
  outcome.visits = {v};
  auto finished = finish_search(*db_, *done, outcome, kNow);
  ASSERT_TRUE(finished) << finished.error().message;
  auto waiting = request_search(*db_, request(), probes(), key_, kNow);
  ASSERT_TRUE(waiting);
  auto later = request();
  later.expires_at = kNow + 90 * 86400;
  auto kept = request_search(*db_, later, probes(), key_, kNow);
  ASSERT_TRUE(kept);

  auto none = expire_searches(*db_, kNow + 86400);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
  auto expired = expire_searches(*db_, kNow + 31 * 86400);
  ASSERT_TRUE(expired);
  EXPECT_EQ(*expired, 2);
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM search_visits"), 0);
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM search_probes"), 1) << "only the unexpired search keeps its probe";
  auto stored = load_search(*db_, *done);
  EXPECT_TRUE((*stored)->expired);
  EXPECT_EQ((*stored)->status, "done") << "the row stays, with its counts";
  EXPECT_EQ((*load_search(*db_, *waiting))->status, "cancelled");
  EXPECT_FALSE(approve_search(*db_, *waiting, "alice", kNow + 31 * 86400));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM audit_records WHERE record LIKE '%\"action\":\"search.expire\"%'"), 2);
}

TEST_P(SearchStoreTest, SegmentsAreFoundByWindowAndPurgedWithAnAuditRecord) {
  const std::int64_t t0 = kNow * 1000;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = add_segment(*db_, "gate", "/rec/gate/" + std::to_string(i) + ".mp4", t0 + i * 60000);
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(complete_segment(*db_, ids[i], t0 + i * 60000 + 60000, 1000));
  ASSERT_TRUE(add_segment(*db_, "door", "/rec/door/0.mp4", t0));
  auto open = unfinished_segments(*db_);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->size(), 2u) << "the one being written on each camera";

  // A window from 1:30 to 2:30 touches the second and third segments, each limited to it.
  auto recordings = camera_recordings(*db_, {"gate"}, kNow + 90, kNow + 150);
  ASSERT_TRUE(recordings);
  ASSERT_EQ(recordings->size(), 2u);
  EXPECT_EQ((*recordings)[0].path, "/rec/gate/1.mp4");
  EXPECT_DOUBLE_EQ((*recordings)[0].from_s, 30.0);
  EXPECT_FALSE((*recordings)[0].to_s.has_value());
  EXPECT_DOUBLE_EQ((*recordings)[1].from_s, 0.0);
  EXPECT_DOUBLE_EQ(*(*recordings)[1].to_s, 30.0);
  EXPECT_EQ(*(*recordings)[1].start_ms, t0 + 120000);
  EXPECT_EQ((*recordings)[1].recorded_by, "") << "one machine's segments name no node";

  auto purged = segments_to_purge(*db_, "gate", t0 + 150000);
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->size(), 2u) << "the two that ended before the cutoff";
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM recording_segments WHERE camera = 'gate'"), 5) << "nothing removed before the files are";
  ASSERT_TRUE(remove_purged_segments(*db_, "gate", *purged, kNow));
  EXPECT_EQ(count(*db_, "SELECT count(*) FROM recording_segments WHERE camera = 'gate'"), 3);
  EXPECT_EQ(actions(), (std::vector<std::string>{"recording.purge"}));
  auto nothing = segments_to_purge(*db_, "gate", t0 + 150000);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
  ASSERT_TRUE(remove_purged_segments(*db_, "gate", *nothing, kNow));
  EXPECT_EQ(actions().size(), 1u) << "no record for a purge that deleted nothing";
}

TEST_P(SearchStoreTest, UploadsAreAppendedAtTheirOffsetCheckedAtTheEndAndPurgedWhenExpired) {
  const std::string folder = (dir_ / "uploads").string();
  auto u = create_upload(*db_, "cam3.mp4", folder, "olga", kNow, kNow + 86400);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_FALSE(create_upload(*db_, "../etc/passwd", folder, "olga", kNow, kNow + 86400)) << "a name, not a path";
  ASSERT_TRUE(append_upload(*db_, u->id, 0, "hello ", "olga"));
  auto wrong = append_upload(*db_, u->id, 0, "again", "olga");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("6 bytes are stored"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(append_upload(*db_, u->id, 6, "world", "alice")) << "someone else's upload";
  ASSERT_TRUE(append_upload(*db_, u->id, 6, "world", "olga"));
  EXPECT_EQ(test::read_file(u->path), "hello world");
  EXPECT_FALSE(finish_upload(*db_, u->id, std::string(64, 'a'), "olga", kNow));
  auto digest = sha256_file(u->path);
  auto done = finish_upload(*db_, u->id, *digest, "olga", kNow);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_FALSE(append_upload(*db_, u->id, 11, "more", "olga")) << "finished";
  auto kept = purge_uploads(*db_, kNow + 3600);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->purged, 0);
  auto purged = purge_uploads(*db_, kNow + 86400);
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->purged, 1);
  EXPECT_FALSE(std::filesystem::exists(u->path));
  EXPECT_EQ(actions(), (std::vector<std::string>{"upload.create", "upload.finish", "upload.purge"}));

  // An expired upload that a waiting search names stays until the search no longer waits.
  auto named = create_upload(*db_, "cam4.mp4", folder, "olga", kNow, kNow + 86400);
  ASSERT_TRUE(named && append_upload(*db_, named->id, 0, "footage", "olga"));
  ASSERT_TRUE(finish_upload(*db_, named->id, *sha256_file(named->path), "olga", kNow));
  SearchRequest r = request();
  r.files = {named->path};
  auto search = request_search(*db_, r, probes(), key_, kNow);
  ASSERT_TRUE(search) << search.error().message;
  EXPECT_EQ(purge_uploads(*db_, kNow + 2 * 86400)->purged, 0) << "the pending search needs it";
  EXPECT_TRUE(std::filesystem::exists(named->path));
  ASSERT_TRUE(cancel_search(*db_, *search, "olga", kNow + 2 * 86400));
  EXPECT_EQ(purge_uploads(*db_, kNow + 2 * 86400)->purged, 1);
  EXPECT_FALSE(std::filesystem::exists(named->path));
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchStoreTest, test::kAllBackends, test::backend_name);

TEST(SearchParsing, ModesTimesAndRequests) {
  EXPECT_TRUE(SamplingMode::parse("keyframes")->keyframes_only);
  EXPECT_DOUBLE_EQ(SamplingMode::parse("rate:2.5")->rate_fps, 2.5);
  EXPECT_EQ(SamplingMode::parse("rate:2.5")->text(), "rate:2.5");
  for (const char* bad : {"rate:0", "rate:", "rate:61", "rate:x", "keyframe", "", "rate:2s"}) EXPECT_FALSE(SamplingMode::parse(bad)) << bad;
  EXPECT_EQ(*parse_time_utc("2026-12-01T10:04:05Z"), *parse_date_utc("2026-12-01") + 36245);
  EXPECT_EQ(*parse_time_utc("2026-12-01"), *parse_date_utc("2026-12-01"));
  for (const char* bad : {"2026-12-01T24:00:00Z", "2026-12-01 10:04:05", "2026-12-01T10:04:05", "2026-02-30T00:00:00Z"})
    EXPECT_FALSE(parse_time_utc(bad)) << bad;
  EXPECT_EQ(format_utc_ms(1796094600111), "2026-12-01T03:10:00.111Z");

  SearchRequest r;
  r.case_id = " ";
  r.legal_basis = "W";
  r.requested_by = "olga";
  r.cameras = {"gate"};
  r.expires_at = kNow - 1;
  auto s = validate_search_request(r, 0, kNow, FieldNames::kJson);
  ASSERT_FALSE(s);
  for (const char* expected : {"case is required", "time window", "expires must be in the future", "probe"})
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << expected << " in " << s.error().message;
}

}  // namespace
}  // namespace glassbox
