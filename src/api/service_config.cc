#include "api/service_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "core/network.h"
#include "store/database_location.h"

#include <nlohmann/json.hpp>

namespace glassbox {
namespace {

using nlohmann::json;

Error field_error(const std::string& where, const std::string& why) { return Error{where + ": " + why}; }

template <typename T>
Result<T> number_in(const json& object, const std::string& key, const std::string& where, T fallback, T low, T high) {
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_number() || (std::is_integral_v<T> && !v.is_number_integer()))
    return field_error(where + "." + key, std::string("must be ") + (std::is_integral_v<T> ? "an integer" : "a number"));
  const T value = v.get<T>();
  if (value < low || value > high) {
    std::ostringstream range;
    range << "must be between " << low << " and " << high;
    return field_error(where + "." + key, range.str());
  }
  return value;
}


}  // namespace

Result<ServiceConfig> parse_service_config(const std::string& json_text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    return Error{origin + ": not valid JSON: " + e.what()};
  }
  if (!doc.is_object()) return Error{origin + ": the configuration is a JSON object"};
  static const std::set<std::string> kKeys = {"database", "listen_database", "node", "capacity", "lease_s", "realert_s", "profile", "workers", "evidence_retention_days", "queue_frames", "watchlist_reload_s", "cameras", "webhooks", "mqtt", "audit_checkpoint_interval_s", "deployment",
                                              "session_idle_s", "cookie_secure", "alert_retention_days",
                                              "recordings_dir", "record_segment_s", "search_workers", "search_claim_s", "upload_retention_days", "detect_size",
                                              "target_fpir", "threshold",
                                              "session_absolute_s", "tls_cert_file", "tls_key_file", "behind_tls_proxy", "trusted_proxies",
                                              "http", "access_log", "console_dir", "token_max_days", "entry_max_days", "ended_entry_retention_days", "search_max_days", "upload_max_mb",
                                              "upload_quota_mb", "upload_unfinished_hours", "min_free_disk_mb", "api_camera_schemes",
                                              "api_camera_blocked_networks"};
  for (const auto& [key, value] : doc.items())
    if (!kKeys.count(key)) return Error{origin + ": " + key + ": unknown setting"};
  ServiceConfig config;
  const std::string root = origin;
  if (doc.contains("database")) {
    if (!doc["database"].is_string()) return field_error(root + ": database", "must be a PostgreSQL connection string");
    config.database = doc["database"];
  }
  if (doc.contains("listen_database")) {
    if (!doc["listen_database"].is_string() || !is_postgres_connection(doc["listen_database"].get<std::string>()))
      return field_error(root + ": listen_database", "must be a PostgreSQL connection string (straight to the server the pool is in front of)");
    config.listen_database = doc["listen_database"];
  }
  if (doc.contains("node")) {
    if (!doc["node"].is_string() || doc["node"].get<std::string>().empty() || doc["node"].get<std::string>().size() > 200)
      return field_error(root + ": node", "must be a name of 1 to 200 characters");
    config.node = doc["node"];
  }
  auto capacity = number_in<int>(doc, "capacity", root + ": config", config.capacity, 0, 1000);
  if (!capacity) return capacity.error();
  config.capacity = *capacity;
  auto lease = number_in<double>(doc, "lease_s", root + ": config", config.lease_s, 1.0, 600.0);
  if (!lease) return lease.error();
  config.lease_s = *lease;
  if (doc.contains("realert_s")) {
    auto realert = number_in<int>(doc, "realert_s", root + ": config", 0, 0, 86400);
    if (!realert) return realert.error();
    config.realert_s = *realert;
  }
  if (doc.contains("profile")) {
    if (!doc["profile"].is_string() || doc["profile"].get<std::string>().empty()) return field_error(root + ": profile", "must be a profile name");
    config.profile = doc["profile"];
  }
  if (doc.contains("deployment")) {
    if (!doc["deployment"].is_string() || doc["deployment"].get<std::string>().empty() || doc["deployment"].get<std::string>().size() > 100)
      return field_error(root + ": deployment", "must be a name of 1 to 100 characters");
    config.deployment = doc["deployment"];
  }
  auto idle = number_in<double>(doc, "session_idle_s", root + ": config", config.session_idle_s, 60.0, 86400.0);
  if (!idle) return idle.error();
  config.session_idle_s = *idle;
  auto absolute = number_in<double>(doc, "session_absolute_s", root + ": config", config.session_absolute_s, 300.0, 7 * 86400.0);
  if (!absolute) return absolute.error();
  config.session_absolute_s = *absolute;
  for (const auto& [key, target] : {std::pair<const char*, std::string*>{"tls_cert_file", &config.tls_cert_file},
                                    {"tls_key_file", &config.tls_key_file}, {"access_log", &config.access_log},
                                    {"console_dir", &config.console_dir}}) {
    if (!doc.contains(key)) continue;
    if (!doc[key].is_string() || doc[key].get<std::string>().empty()) return field_error(root + ": " + key, "must be a file path");
    *target = doc[key];
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty())
    return field_error(root + ": tls_cert_file", "tls_cert_file and tls_key_file go together");
  if (doc.contains("behind_tls_proxy")) {
    if (!doc["behind_tls_proxy"].is_boolean()) return field_error(root + ": behind_tls_proxy", "must be true or false");
    config.behind_tls_proxy = doc["behind_tls_proxy"];
  }
  auto string_list = [&](const char* key, std::vector<std::string>& out) -> Status {
    if (!doc.contains(key)) return ok_status();
    if (!doc[key].is_array()) return field_error(root + ": " + key, "must be a list of strings");
    out.clear();
    for (const auto& item : doc[key]) {
      if (!item.is_string() || item.get<std::string>().empty()) return field_error(root + ": " + key, "must be a list of strings");
      out.push_back(item);
    }
    return ok_status();
  };
  if (auto s = string_list("trusted_proxies", config.trusted_proxies); !s) return s.error();
  if (config.trusted_proxies.empty() && config.behind_tls_proxy) config.trusted_proxies = {"127.0.0.1", "::1"};
  if (auto s = string_list("api_camera_schemes", config.api_camera_schemes); !s) return s.error();
  for (const std::string& scheme : config.api_camera_schemes)
    if (scheme != "rtsp" && scheme != "rtsps" && scheme != "http" && scheme != "https" && scheme != "file")
      return field_error(root + ": api_camera_schemes", "'" + scheme + "' is not one of rtsp, rtsps, http, https, file");
  if (auto s = string_list("api_camera_blocked_networks", config.api_camera_blocked_networks); !s) return s.error();
  for (const std::string& network : config.api_camera_blocked_networks)
    if (!parse_network(network)) return field_error(root + ": api_camera_blocked_networks", "'" + network + "' is not ADDRESS/BITS");
  if (doc.contains("http")) {
    const json& h = doc["http"];
    const std::string where = root + ": http";
    if (!h.is_object()) return field_error(where, "must be an object");
    static const std::set<std::string> kHttpKeys = {"workers", "queue", "max_connections", "max_connections_per_client", "header_timeout_s",
                                                   "body_timeout_s", "event_keepalive_s", "max_event_streams", "max_event_streams_per_user"};
    for (const auto& [key, value] : h.items())
      if (!kHttpKeys.count(key)) return field_error(where + "." + key, "unknown setting");
    HttpLimitsConfig& l = config.http;
    for (const auto& [key, target, low, high] :
         {std::tuple<const char*, int*, int, int>{"workers", &l.workers, 1, 256}, {"queue", &l.queue, 1, 100000},
          {"max_connections", &l.max_connections, 4, 100000}, {"max_connections_per_client", &l.max_connections_per_client, 1, 100000},
          {"max_event_streams", &l.max_event_streams, 0, 10000}, {"max_event_streams_per_user", &l.max_event_streams_per_user, 0, 1000}}) {
      auto v = number_in<int>(h, key, where, *target, low, high);
      if (!v) return v.error();
      *target = *v;
    }
    for (const auto& [key, target, low, high] :
         {std::tuple<const char*, double*, double, double>{"header_timeout_s", &l.header_timeout_s, 0.5, 300.0},
          {"body_timeout_s", &l.body_timeout_s, 1.0, 3600.0}, {"event_keepalive_s", &l.event_keepalive_s, 0.1, 300.0}}) {
      auto v = number_in<double>(h, key, where, *target, low, high);
      if (!v) return v.error();
      *target = *v;
    }
  }
  for (const auto& [key, target, low, high] :
       {std::tuple<const char*, int*, int, int>{"token_max_days", &config.token_max_days, 1, 3650},
        {"entry_max_days", &config.entry_max_days, 1, 3650}, {"search_max_days", &config.search_max_days, 1, 3650},
        {"ended_entry_retention_days", &config.ended_entry_retention_days, 0, 3650}}) {
    auto v = number_in<int>(doc, key, root + ": config", *target, low, high);
    if (!v) return v.error();
    *target = *v;
  }
  for (const auto& [key, target, low, high] :
       {std::tuple<const char*, std::int64_t*, std::int64_t, std::int64_t>{"upload_max_mb", &config.upload_max_mb, 1, std::int64_t{1} << 30},
        {"upload_quota_mb", &config.upload_quota_mb, 1, std::int64_t{1} << 30}, {"min_free_disk_mb", &config.min_free_disk_mb, 0, std::int64_t{1} << 30}}) {
    auto v = number_in<std::int64_t>(doc, key, root + ": config", *target, low, high);
    if (!v) return v.error();
    *target = *v;
  }
  auto unfinished = number_in<double>(doc, "upload_unfinished_hours", root + ": config", config.upload_unfinished_hours, 0.01, 24.0 * 365);
  if (!unfinished) return unfinished.error();
  config.upload_unfinished_hours = *unfinished;
  if (doc.contains("cookie_secure")) {
    if (!doc["cookie_secure"].is_boolean()) return field_error(root + ": cookie_secure", "must be true or false");
    config.cookie_secure = doc["cookie_secure"];
  }
  auto workers = number_in<int>(doc, "workers", root + ": config", config.workers, 1, 64);
  if (!workers) return workers.error();
  config.workers = *workers;
  auto detect_size = number_in<int>(doc, "detect_size", root + ": config", config.detect_size, 64, 4096);
  if (!detect_size) return detect_size.error();
  config.detect_size = *detect_size;
  auto target_fpir = number_in<double>(doc, "target_fpir", root + ": config", config.target_fpir, 1e-9, 0.5);
  if (!target_fpir) return target_fpir.error();
  config.target_fpir = *target_fpir;
  if (doc.contains("threshold")) {
    if (!doc["threshold"].is_number() || !std::isfinite(doc["threshold"].get<double>()))
      return field_error(root + ": threshold", "must be a number in the profile's metric (or be left out: the target_fpir decides)");
    config.threshold = doc["threshold"].get<double>();
  }
  auto retention = number_in<int>(doc, "evidence_retention_days", root + ": config", config.evidence_retention_days, 1, 3650);
  if (!retention) return retention.error();
  config.evidence_retention_days = *retention;
  auto alert_retention = number_in<int>(doc, "alert_retention_days", root + ": config", config.alert_retention_days, 1, 36500);
  if (!alert_retention) return alert_retention.error();
  config.alert_retention_days = *alert_retention;
  auto queue = number_in<int>(doc, "queue_frames", root + ": config", config.queue_frames, 1, 1000);
  if (!queue) return queue.error();
  config.queue_frames = *queue;
  auto reload = number_in<double>(doc, "watchlist_reload_s", root + ": config", config.watchlist_reload_s, 0.1, 3600.0);
  if (!reload) return reload.error();
  config.watchlist_reload_s = *reload;
  auto checkpoints = number_in<double>(doc, "audit_checkpoint_interval_s", root + ": config", config.audit_checkpoint_interval_s, 1.0, 86400.0);
  if (!checkpoints) return checkpoints.error();
  config.audit_checkpoint_interval_s = *checkpoints;
  if (doc.contains("recordings_dir")) {
    if (!doc["recordings_dir"].is_string() || doc["recordings_dir"].get<std::string>().empty())
      return field_error(root + ": recordings_dir", "must be a folder path");
    config.recordings_dir = doc["recordings_dir"];
  }
  auto segment = number_in<double>(doc, "record_segment_s", root + ": config", config.record_segment_s, 1.0, 3600.0);
  if (!segment) return segment.error();
  config.record_segment_s = *segment;
  auto search_workers = number_in<int>(doc, "search_workers", root + ": config", config.search_workers, 0, 64);
  if (!search_workers) return search_workers.error();
  config.search_workers = *search_workers;
  auto search_claim = number_in<double>(doc, "search_claim_s", root + ": config", config.search_claim_s, 3.0, 3600.0);
  if (!search_claim) return search_claim.error();
  config.search_claim_s = *search_claim;
  auto upload_retention = number_in<int>(doc, "upload_retention_days", root + ": config", config.upload_retention_days, 1, 3650);
  if (!upload_retention) return upload_retention.error();
  config.upload_retention_days = *upload_retention;

  if (doc.contains("cameras")) {
    if (!doc["cameras"].is_array()) return field_error(root + ": cameras", "must be a list");
    std::set<std::string> names;
    for (std::size_t i = 0; i < doc["cameras"].size(); ++i) {
      const json& c = doc["cameras"][i];
      const std::string where = root + ": cameras[" + std::to_string(i) + "]";
      auto camera = parse_camera_json(c, where, CameraConfig{});
      if (!camera) return camera.error();
      if (!names.insert(camera->name).second) return field_error(where + ".name", "'" + camera->name + "' is used twice");
      config.cameras.push_back(*camera);
    }
  }
  if (doc.contains("webhooks")) {
    if (!doc["webhooks"].is_array()) return field_error(root + ": webhooks", "must be a list");
    for (std::size_t i = 0; i < doc["webhooks"].size(); ++i) {
      const json& w = doc["webhooks"][i];
      const std::string where = root + ": webhooks[" + std::to_string(i) + "]";
      if (!w.is_object()) return field_error(where, "must be an object");
      for (const auto& [key, value] : w.items())
        if (key != "url" && key != "max_attempts" && key != "timeout_s" && key != "ca_file" && key != "insecure")
          return field_error(where + "." + key, "unknown setting");
      WebhookConfig hook;
      if (!w.contains("url") || !w["url"].is_string()) return field_error(where + ".url", "is required");
      hook.url = w["url"];
      const auto target = parse_http_url(hook.url);
      if (!target) return field_error(where + ".url", target.error().message);
      if (w.contains("insecure")) {
        if (!w["insecure"].is_boolean()) return field_error(where + ".insecure", "must be true or false");
        hook.insecure = w["insecure"];
      }
      // Alert events name people: they go over TLS unless someone decided otherwise in writing.
      if (!target->tls && !hook.insecure)
        return field_error(where + ".url", "plain http:// sends alerts in clear; use https:// or set \"insecure\": true");
      if (w.contains("ca_file")) {
        if (!w["ca_file"].is_string()) return field_error(where + ".ca_file", "must be a file path");
        hook.ca_file = w["ca_file"];
        if (!target->tls) return field_error(where + ".ca_file", "applies to https:// webhooks only");
        std::ifstream probe(hook.ca_file);
        if (!probe) return field_error(where + ".ca_file", hook.ca_file + ": cannot read");
      }
      auto attempts = number_in<int>(w, "max_attempts", where, hook.max_attempts, 1, 100);
      if (!attempts) return attempts.error();
      hook.max_attempts = *attempts;
      auto timeout = number_in<double>(w, "timeout_s", where, hook.timeout_s, 0.1, 120.0);
      if (!timeout) return timeout.error();
      hook.timeout_s = *timeout;
      config.webhooks.push_back(hook);
    }
  }
  if (doc.contains("mqtt")) {
    const json& m = doc["mqtt"];
    const std::string where = root + ": mqtt";
    if (!m.is_object()) return field_error(where, "must be an object");
    static const std::set<std::string> kMqttKeys = {"host", "port", "topic", "qos", "client_id", "username", "password", "keepalive_s",
                                                    "tls", "ca_file", "insecure"};
    for (const auto& [key, value] : m.items())
      if (!kMqttKeys.count(key)) return field_error(where + "." + key, "unknown setting");
    MqttConfig mqtt;
    auto text = [&](const char* key, std::string& out, bool required) -> Status {
      if (!m.contains(key)) return required ? Status(field_error(where + "." + key, "is required")) : ok_status();
      if (!m[key].is_string() || m[key].get<std::string>().empty()) return field_error(where + "." + key, "must be a non-empty string");
      out = m[key];
      return ok_status();
    };
    for (Status s : {text("host", mqtt.host, true), text("topic", mqtt.topic, false), text("client_id", mqtt.client_id, false),
                     text("username", mqtt.username, false), text("password", mqtt.password, false)})
      if (!s) return s.error();
    if (mqtt.topic.find_first_of("+#") != std::string::npos || mqtt.topic.back() == '/')
      return field_error(where + ".topic", "must be a topic name without wildcards or a trailing /");
    if (!mqtt.password.empty() && mqtt.username.empty()) return field_error(where + ".password", "needs a username");
    for (const auto& [key, target] : {std::pair<const char*, bool*>{"tls", &mqtt.tls}, {"insecure", &mqtt.insecure}}) {
      if (!m.contains(key)) continue;
      if (!m[key].is_boolean()) return field_error(where + "." + key, "must be true or false");
      *target = m[key];
    }
    if (Status s = text("ca_file", mqtt.ca_file, false); !s) return s.error();
    if (!mqtt.ca_file.empty()) {
      if (!mqtt.tls) return field_error(where + ".ca_file", "applies with \"tls\": true");
      std::ifstream probe(mqtt.ca_file);
      if (!probe) return field_error(where + ".ca_file", mqtt.ca_file + ": cannot read");
    }
    // A broker password, and the events, would cross the network in clear.
    if (!mqtt.tls && !mqtt.username.empty() && !mqtt.insecure)
      return field_error(where + ".tls", "a username and password are sent in clear without TLS; set \"tls\": true (or \"insecure\": true)");
    auto port = number_in<int>(m, "port", where, mqtt.port, 1, 65535);
    if (!port) return port.error();
    mqtt.port = *port;
    auto qos = number_in<int>(m, "qos", where, mqtt.qos, 0, 2);
    if (!qos) return qos.error();
    mqtt.qos = *qos;
    auto keepalive = number_in<int>(m, "keepalive_s", where, mqtt.keepalive_s, 5, 3600);
    if (!keepalive) return keepalive.error();
    mqtt.keepalive_s = *keepalive;
    config.mqtt = mqtt;
  }
  return config;
}

Result<ServiceConfig> load_service_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{path + ": cannot read the configuration file"};
  std::stringstream text;
  text << in.rdbuf();
  return parse_service_config(text.str(), path);
}

}  // namespace glassbox
