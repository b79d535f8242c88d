#include "cluster/cluster_status.h"

#include <iomanip>
#include <map>
#include <sstream>

namespace glassbox {

Result<nlohmann::json> cluster_status(Database& db) {
  using nlohmann::json;
  if (db.dialect() != Dialect::kPostgres) return json{{"cluster", false}};
  // Times as the database tells them, in UTC; what is left of each lease in seconds.
  auto nodes = db.prepare(
      "SELECT node, epoch, capacity, address, lease_until > now(), "
      "to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "to_char(renewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "to_char(joined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "extract(epoch FROM lease_until - now()) FROM nodes ORDER BY node");
  json out = {{"cluster", true}, {"nodes", json::array()}};
  std::map<std::string, std::size_t> index;
  auto read = for_each_row(*nodes, "cannot read the cluster's nodes", [&] {
    index[nodes->text(0)] = out["nodes"].size();
    out["nodes"].push_back({{"node", nodes->text(0)},
                            {"epoch", nodes->int64(1)},
                            {"capacity", nodes->int64(2)},
                            {"address", nodes->text(3)},
                            {"live", nodes->int64(4) != 0},
                            {"lease_until", nodes->text(5)},
                            {"renewed_at", nodes->text(6)},
                            {"joined_at", nodes->text(7)},
                            {"lease_left_s", nodes->real(8)},
                            {"cameras", json::array()}});
    return ok_status();
  });
  if (!read) return read.error();
  // Each enabled camera with its holder when the holder's lease is live and of the row's epoch.
  auto cameras = db.prepare(
      "SELECT c.name, c.enabled, n.node FROM cameras c LEFT JOIN camera_leases l ON l.camera = c.name "
      "LEFT JOIN nodes n ON n.node = l.node AND n.epoch = l.epoch AND n.lease_until > now() ORDER BY c.name");
  json unheld = json::array();
  int total = 0, held = 0;
  read = for_each_row(*cameras, "cannot read the camera leases", [&] {
    if (cameras->int64(1) == 0) return ok_status();  // disabled: nobody should hold it
    ++total;
    if (cameras->is_null(2)) {
      unheld.push_back(cameras->text(0));
    } else {
      ++held;
      out["nodes"][index.at(cameras->text(2))]["cameras"].push_back(cameras->text(0));
    }
    return ok_status();
  });
  if (!read) return read.error();
  out["cameras"] = {{"enabled", total}, {"held", held}, {"unheld", unheld}};
  return out;
}

std::string cluster_status_table(const nlohmann::json& status) {
  std::ostringstream out;
  if (!status.value("cluster", false)) return "one machine (SQLite): no cluster, no leases\n";
  out << std::left << std::setw(20) << "NODE" << std::setw(7) << "EPOCH" << std::setw(6) << "LIVE" << std::setw(11) << "LEASE LEFT"
      << std::setw(9) << "CAMERAS" << std::setw(9) << "CAPACITY" << "LAST RENEWAL\n";
  for (const auto& n : status["nodes"]) {
    std::ostringstream left;
    left << std::fixed << std::setprecision(1) << n["lease_left_s"].get<double>() << " s";
    out << std::left << std::setw(20) << n["node"].get<std::string>() << std::setw(7) << n["epoch"].get<std::int64_t>() << std::setw(6)
        << (n["live"].get<bool>() ? "yes" : "no") << std::setw(11) << (n["live"].get<bool>() ? left.str() : "-") << std::setw(9)
        << n["cameras"].size() << std::setw(9) << n["capacity"].get<std::int64_t>() << n["renewed_at"].get<std::string>() << "\n";
  }
  const auto& c = status["cameras"];
  out << "\ncameras: " << c["enabled"].get<int>() << " enabled, " << c["held"].get<int>() << " held";
  if (!c["unheld"].empty()) {
    out << ", not held:";
    for (const auto& name : c["unheld"]) out << " " << name.get<std::string>();
  }
  out << "\n";
  return out.str();
}

}  // namespace glassbox
