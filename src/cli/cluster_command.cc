// `glassbox cluster status`: the nodes of a cluster, their leases and the cameras each holds, as
// the shared PostgreSQL database has them (docs/cluster.md). Read-only; no node keys needed.
#include <iostream>

#include "cli/commands.h"
#include "cluster/cluster_status.h"
#include "cluster/simulation.h"
#include "core/json_text.h"

namespace glassbox::cli {
namespace {

struct ClusterArgs {
  std::string db;
  bool json = false;
};

int run_status(const ClusterArgs& a) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox cluster status: " << m << "\n";
    return kExitFailure;
  };
  if (!is_postgres_connection(a.db)) return fail("--db: give the cluster's PostgreSQL connection string (postgresql://… or 'host=… dbname=…')");
  auto db = connect(DatabaseLocation{"", a.db, ""}, ConnectMode::kReadOnly);
  if (!db) return fail(db.error().message);
  auto status = cluster_status(**db);
  if (!status) return fail(status.error().message);
  std::cout << (a.json ? to_json_text(*status, 2) + "\n" : cluster_status_table(*status));
  return kExitOk;
}

int run_simulate(const SimulationSettings& settings, bool json) {
  auto fail = [](const std::string& m) {
    std::cerr << "glassbox cluster simulate: " << m << "\n";
    return kExitFailure;
  };
  if (!is_postgres_connection(settings.conninfo)) return fail("--db: give a PostgreSQL connection string of a database made for the simulation");
  std::cerr << "simulating " << settings.nodes << " nodes and " << settings.cameras << " cameras for " << settings.seconds << " s\n";
  auto result = run_simulation(settings);
  if (!result) return fail(result.error().message);
  if (json) {
    std::cout << to_json_text(*result, 2) << "\n";
    return kExitOk;
  }
  const auto& r = *result;
  std::cout << "nodes " << r["nodes"] << ", cameras " << r["cameras"] << ", lease " << r["lease_s"] << " s, " << r["seconds"].get<double>() << " s\n"
            << "  database transactions/s  " << r["transactions_per_s"].get<double>() << "\n"
            << "  renewals                 " << r["renewals"] << " (failed " << r["renewal_failures"] << "), p50 "
            << r["renewal_ms"]["p50"].get<double>() << " ms, p99 " << r["renewal_ms"]["p99"].get<double>() << " ms\n"
            << "  alerts written / fenced  " << r["alerts_written"] << " / " << r["alerts_fenced"] << "\n"
            << "  cameras held at the end  " << r["cameras_held_at_end"] << "\n"
            << "  failover (one node of " << r["victim_held"] << " cameras stopped)  " << r["failover_s"].get<double>() << " s\n";
  return kExitOk;
}

}  // namespace

void add_cluster_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<ClusterArgs>();
  CLI::App* cluster = app.add_subcommand("cluster", "Nodes on one PostgreSQL database: their leases and the cameras each holds");
  cluster->require_subcommand(1);
  CLI::App* status = cluster->add_subcommand("status", "Every node's epoch, lease, last renewal and cameras; the cameras no live node holds");
  status->add_option("--db", args->db, "The cluster's PostgreSQL connection string")->required();
  status->add_flag("--json", args->json, "JSON instead of a table");
  status->callback([args, &exit_status] { exit_status = run_status(*args); });

  auto sim = std::make_shared<SimulationSettings>();
  auto sim_json = std::make_shared<bool>(false);
  CLI::App* simulate = cluster->add_subcommand(
      "simulate", "Coordination load without video: simulated nodes renewing leases and writing fenced alerts, one stopped half-way "
                  "(on a database made for it: refused where anything is audited)");
  simulate->add_option("--db", sim->conninfo, "PostgreSQL connection string of a database for the simulation")->required();
  simulate->add_option("--nodes", sim->nodes, "Simulated nodes, 1 to 90 (two connections each)")->capture_default_str();
  simulate->add_option("--cameras", sim->cameras, "Simulated cameras")->capture_default_str();
  simulate->add_option("--capacity", sim->capacity, "Cameras per node at most (0: enough for the others to take a stopped node's)");
  simulate->add_option("--lease", sim->lease_s, "Lease in seconds (renewed every third)")->capture_default_str();
  simulate->add_option("--seconds", sim->seconds, "How long to run")->capture_default_str();
  simulate->add_option("--alerts-per-camera-hour", sim->alerts_per_camera_hour, "Alert rate")->capture_default_str();
  simulate->add_flag("--json", *sim_json, "JSON instead of a summary");
  simulate->callback([sim, sim_json, &exit_status] { exit_status = run_simulate(*sim, *sim_json); });
}

}  // namespace glassbox::cli
