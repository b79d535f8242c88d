// Transparency statistics from a database whose history is known exactly, on both backends: each
// count is the number of events inside the period, at its edges too.
#include <gtest/gtest.h>

#include "store/alert_store.h"
#include "store/sql_watchlist_store.h"
#include "store/transparency.h"
#include "support/backends.h"

namespace glassbox {
namespace {

using test::Backend;

class Transparency : public test::BackendTest {};

TEST_P(Transparency, CountsEveryKindOfEventInsideThePeriodOnly) {
  const UnixSeconds nov1 = *parse_date_utc("2026-11-01"), dec1 = *parse_date_utc("2026-12-01");
  const UnixSeconds now = *parse_date_utc("2026-11-29") + 3600;
  auto store = std::make_unique<SqlWatchlistStore>(open_with_schema());
  const std::vector<EntryTemplate> t = {{"p", {1.0f, 0.0f}, "a.jpg", "aa"}};
  // Before the period: one entry, approved then; inside: three entries, two approved, one
  // revoked; one entry expires inside the period (on Nov 20), one after it.
  auto before = store->add_pending_entry({"A", "W", "S", "alice", *parse_date_utc("2026-11-20")}, t, nov1 - 86400);
  ASSERT_TRUE(before && store->approve_entry(*before, "bob", nov1 - 3600));
  auto e1 = store->add_pending_entry({"B", "W", "S", "alice", *parse_date_utc("2027-06-01")}, t, nov1);  // the first second counts
  auto e2 = store->add_pending_entry({"C", "W", "S", "alice", *parse_date_utc("2027-06-01")}, t, nov1 + 86400);
  auto e3 = store->add_pending_entry({"D", "W", "S", "alice", *parse_date_utc("2027-06-01")}, t, now - 60);
  ASSERT_TRUE(e1 && e2 && e3);
  ASSERT_TRUE(store->approve_entry(*e1, "bob", nov1 + 10));
  ASSERT_TRUE(store->approve_entry(*e2, "bob", nov1 + 86400 + 10));
  ASSERT_TRUE(store->revoke_entry(*e3, "carol", "duplicate", now - 30));
  auto alerts = std::make_unique<AlertStore>(open_with_schema());
  Alert a;
  a.entry_id = *e1;
  a.source = "gate";
  std::vector<std::int64_t> ids;
  for (UnixSeconds at : {nov1 - 10, nov1 + 100, nov1 + 200, now - 100}) ids.push_back(*alerts->record(a, {}, at, at + 86400));
  ASSERT_TRUE(alerts->confirm(ids[0], "olga", nov1 + 5));  // raised before, decided inside
  ASSERT_TRUE(alerts->confirm(ids[1], "olga", nov1 + 150));
  ASSERT_TRUE(alerts->dismiss(ids[2], "olga", "not the person", nov1 + 250));
  auto db = &db_;
  ASSERT_TRUE(add_analysis_counts(**db, "gate", {100, 40, 12}, nov1 - 1));  // October 31: outside
  ASSERT_TRUE(add_analysis_counts(**db, "gate", {500, 120, 30}, nov1 + 5));
  ASSERT_TRUE(add_analysis_counts(**db, "gate", {20, 5, 1}, nov1 + 50));  // same day and camera: added
  ASSERT_TRUE(add_analysis_counts(**db, "door", {7, 3, 2}, now));

  auto report = transparency_report(**db, "city-1", {nov1, dec1}, now);
  ASSERT_TRUE(report) << report.error().message;
  const auto& c = (*report)["counts"];
  EXPECT_EQ(c["frames_analysed"], 527);
  EXPECT_EQ(c["faces_analysed"], 128);
  EXPECT_EQ(c["faces_embedded"], 33);
  EXPECT_EQ(c["alerts_raised"], 3);
  EXPECT_EQ(c["alerts_confirmed"], 2);
  EXPECT_EQ(c["alerts_dismissed"], 1);
  EXPECT_EQ(c["alerts_open"], 1);
  EXPECT_EQ(c["entries_added"], 3);
  EXPECT_EQ(c["entries_approved"], 2);
  EXPECT_EQ(c["entries_revoked"], 1);
  EXPECT_EQ(c["entries_expired"], 1);
  EXPECT_EQ(c["searches_run"], 0);
  EXPECT_EQ((*report)["entries_active_now"], 2);
  EXPECT_EQ((*report)["deployment"], "city-1");
  EXPECT_NE(transparency_table(*report).find("Alerts dismissed (false alerts)                              1"), std::string::npos)
      << transparency_table(*report);
  // October holds only what happened before November.
  auto october = transparency_report(**db, "city-1", {*parse_date_utc("2026-10-01"), nov1}, now);
  ASSERT_TRUE(october);
  EXPECT_EQ((*october)["counts"]["frames_analysed"], 100);
  EXPECT_EQ((*october)["counts"]["alerts_raised"], 1);
  EXPECT_EQ((*october)["counts"]["alerts_confirmed"], 0);
  EXPECT_EQ((*october)["counts"]["entries_added"], 1);
  EXPECT_FALSE(transparency_report(**db, "x", {dec1, nov1}, now)) << "an empty period";
}

INSTANTIATE_TEST_SUITE_P(Backends, Transparency, test::kAllBackends, test::backend_name);

}  // namespace
}  // namespace glassbox
