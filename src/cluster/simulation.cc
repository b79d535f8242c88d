#include "cluster/simulation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "cluster/camera_leases.h"
#include "store/alert_store.h"
#include "store/postgres_database.h"
#include "store/postgres_schema.h"

namespace glassbox {
namespace {

using Clock = std::chrono::steady_clock;


double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())) - 1))];
}

}  // namespace

Result<nlohmann::json> run_simulation(const SimulationSettings& s) {
  if (s.nodes < 1 || s.nodes > 90) return Error{"--nodes: 1 to 90 (each simulated node has its own connection)"};
  if (s.cameras < 1 || s.cameras > 1000000) return Error{"--cameras: 1 to 1,000,000"};
  auto admin = open_postgres(s.conninfo);
  if (!admin) return admin.error();
  Database& db = **admin;
  // Never a deployment's database.
  auto audited = query_int64(db, "SELECT count(*) FROM audit_records", "simulation");
  if (!audited) return audited.error();
  if (*audited > 0) return Error{db.describe() + " holds audit records: the simulation writes cameras and alerts and runs only on a database made for it"};
  if (auto e = db.execute("DELETE FROM alerts; DELETE FROM camera_leases; DELETE FROM nodes; DELETE FROM cameras WHERE name LIKE 'sim-%'"); !e) return e.error();
  const std::string make_cameras =
      "INSERT INTO cameras (name, url, rate_fps, min_face_px, enabled, loop, stall_timeout_s, created_at, updated_at) "
      "SELECT 'sim-' || lpad(i::text, 7, '0'), 'rtsp://simulated/' || i, 5, 40, 1, 0, 10, 0, 0 FROM generate_series(1, " +
      std::to_string(s.cameras) + ") i";
  if (auto e = db.execute(make_cameras); !e) return e.error();
  auto entry = query_int64(db, "INSERT INTO watchlist_entries (subject, legal_basis, photo_source, submitted_by, submitted_at, expires_at, status) "
                          "VALUES ('simulated', 'simulation', 'none', 'sim', 0, 4102444800, 'pending') RETURNING id", "simulation");
  if (!entry) return entry.error();
  // Enough for the others to take the stopped node's cameras over.
  const int capacity = s.capacity > 0 ? s.capacity : (s.cameras + std::max(1, s.nodes - 1) - 1) / std::max(1, s.nodes - 1) + 1;
  auto commits = [&]() { return query_int64(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", "simulation"); };
  auto commits_before = commits();
  if (!commits_before) return commits_before.error();

  std::mutex mutex;
  std::vector<double> renewal_ms;  // guarded by mutex
  std::atomic<std::uint64_t> renewals{0}, renewal_failures{0}, alerts{0}, fenced{0}, alert_failures{0}, taken{0};
  std::atomic<bool> stop{false};
  std::atomic<int> victim_held{0};
  std::atomic<bool> victim_stopped{false};
  const auto period = std::chrono::milliseconds(static_cast<int>(s.lease_s * 1000 / 3));
  const double alert_probability = s.alerts_per_camera_hour * (s.lease_s / 3) / 3600.0;  // per held camera per renewal
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<std::size_t>(s.nodes));
  const auto started = Clock::now();
  for (int n = 0; n < s.nodes; ++n) {
    threads.emplace_back([&, n] {
      auto connection = PostgresDatabase::connect(s.conninfo);
      auto alert_connection = PostgresDatabase::connect(s.conninfo);
      if (!connection || !alert_connection) {
        errors[static_cast<std::size_t>(n)] = (!connection ? connection.error() : alert_connection.error()).message;
        return;
      }
      const std::string name = "sim-node-" + std::to_string(n);
      auto leases = CameraLeases::create(std::move(*connection), {name, capacity, "", s.lease_s});
      if (!leases) {
        errors[static_cast<std::size_t>(n)] = leases.error().message;
        return;
      }
      AlertStore store(std::move(*alert_connection));
      std::mt19937 rng(static_cast<unsigned>(n) * 7919u + 1u);
      std::uniform_real_distribution<double> coin(0.0, 1.0);
      // Start spread over one period, as real nodes do not start in the same millisecond.
      std::this_thread::sleep_for(period * n / std::max(1, s.nodes));
      while (!stop) {
        if (s.kill_one && n == 0 && Clock::now() - started > std::chrono::duration<double>(s.seconds / 2)) {
          victim_stopped = true;  // as a SIGKILL: no clean leave, the lease simply lapses
          return;
        }
        const auto t0 = Clock::now();
        auto r = (*leases)->renew();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!r) {
          ++renewal_failures;
          errors[static_cast<std::size_t>(n)] = r.error().message;
        } else {
          ++renewals;
          taken += r->taken.size();
          if (n == 0) victim_held = static_cast<int>(r->held.size());
          {
            std::lock_guard lock(mutex);
            renewal_ms.push_back(ms);
          }
          for (const std::string& camera : r->held) {
            if (coin(rng) >= alert_probability) continue;
            Alert a;
            a.entry_id = *entry;
            a.source = camera;
            a.profile = "simulated";
            auto written = store.record(a, {}, 0, 0, AlertWrite::under(WriteFence{name, r->epoch}));
            if (written) ++alerts;
            else if (CameraLeases::is_fenced(written.error())) ++fenced;
            else ++alert_failures;
          }
        }
        std::this_thread::sleep_until(t0 + period);
      }
    });
  }
  // Failover: from when the stopped node stopped renewing until every enabled camera is held
  // by a live lease of another node.
  double failover_s = -1.0;
  std::optional<Clock::time_point> stopped_at;
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.seconds));
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (s.kill_one && victim_stopped && failover_s < 0) {
      if (!stopped_at) stopped_at = Clock::now();
      auto unheld = query_int64(db,
                           "SELECT count(*) FROM cameras c WHERE c.enabled = 1 AND NOT EXISTS (SELECT 1 FROM camera_leases l JOIN nodes n "
                           "ON n.node = l.node AND n.epoch = l.epoch WHERE l.camera = c.name AND n.lease_until > now() AND n.node <> 'sim-node-0')",
                                "simulation");
      if (unheld && *unheld == 0) failover_s = std::chrono::duration<double>(Clock::now() - *stopped_at).count();
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  auto commits_after = commits();
  if (!commits_after) return commits_after.error();
  auto held = query_int64(db, "SELECT count(*) FROM camera_leases l JOIN nodes n ON n.node = l.node AND n.epoch = l.epoch WHERE n.lease_until > now()", "simulation");
  if (!held) return held.error();
  auto database_bytes = query_int64(db, "SELECT pg_database_size(current_database())", "simulation");
  std::string first_error;
  for (const std::string& e : errors)
    if (!e.empty()) first_error = e;
  std::vector<double> ms;
  {
    std::lock_guard lock(mutex);
    ms = renewal_ms;
  }
  return nlohmann::json{{"nodes", s.nodes},
                        {"cameras", s.cameras},
                        {"capacity_per_node", capacity},
                        {"lease_s", s.lease_s},
                        {"seconds", elapsed},
                        {"alerts_per_camera_hour", s.alerts_per_camera_hour},
                        {"transactions_per_s", static_cast<double>(*commits_after - *commits_before) / elapsed},
                        {"renewals", renewals.load()},
                        {"renewal_failures", renewal_failures.load()},
                        {"renewal_ms", {{"p50", percentile(ms, 0.5)}, {"p99", percentile(ms, 0.99)}, {"max", ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end())}}},
                        {"alerts_written", alerts.load()},
                        {"alerts_fenced", fenced.load()},
                        {"alert_failures", alert_failures.load()},
                        {"cameras_taken", taken.load()},
                        {"cameras_held_at_end", *held},
                        {"victim_held", victim_held.load()},
                        {"failover_s", failover_s},
                        {"database_bytes", database_bytes ? *database_bytes : -1},
                        {"last_error", first_error}};
}

}  // namespace glassbox
