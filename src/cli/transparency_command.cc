// `glassbox transparency`: the deployment's statistics for a period, to publish (a readable
// table, or JSON with --json).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/json_text.h"
#include "store/transparency.h"

namespace glassbox::cli {
namespace {

struct TransparencyArgs {
  std::string data_dir, db, from, to, deployment = "default";
  bool json = false;
};

int run_transparency(const TransparencyArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox transparency: " << m << "\n";
    return kExitFailure;
  };
  auto location = database_location_option(a.db, a.data_dir, /*must_exist=*/true);
  if (!location) return fail(location.error().message);
  const UnixSeconds now = now_utc();
  TransparencyPeriod period;
  // Default: the current calendar month so far (to the end of today).
  const std::string today = format_date_utc(now);
  auto from = parse_date_utc(a.from.empty() ? today.substr(0, 8) + "01" : a.from);
  if (!from) return fail("--from: " + from.error().message);
  auto to = a.to.empty() ? Result<UnixSeconds>(*parse_date_utc(today) + 86400) : parse_date_utc(a.to);
  if (!to) return fail("--to: " + to.error().message);
  period.from = *from;
  period.to = *to;
  auto db = connect(*location, ConnectMode::kReadOnly);
  if (!db) return fail(db.error().message);
  auto report = transparency_report(**db, a.deployment, period, now);
  if (!report) return fail(report.error().message);
  std::cout << (a.json ? to_json_text(*report, 2) + "\n" : transparency_table(*report));
  return kExitOk;
}

}  // namespace

void add_transparency_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<TransparencyArgs>();
  CLI::App* t = app.add_subcommand("transparency", "Publishable statistics for a period: faces analysed, alerts, confirmed, false alerts, entries, searches");
  t->add_option("--data-dir", args->data_dir, "The service's data folder (its glassbox.db; with a PostgreSQL --db, the node folder with its keys)");
  t->add_option("--db", args->db, "A database file, or a cluster's PostgreSQL connection string (with --data-dir)");
  t->add_option("--from", args->from, "First day, YYYY-MM-DD (default: the first of this month)");
  t->add_option("--to", args->to, "Day after the last, YYYY-MM-DD (default: tomorrow)");
  t->add_option("--deployment", args->deployment, "The deployment's name in the report");
  t->add_flag("--json", args->json, "JSON instead of a table");
  t->callback([args, &exit_status] { exit_status = run_transparency(*args); });
}

}  // namespace glassbox::cli
