#include "ingest/camera_config.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/text.h"

namespace glassbox {
namespace {

using nlohmann::json;

Error field_error(const std::string& where, const std::string& why) { return Error{where + ": " + why}; }

template <typename T>
Status read_number(const json& object, const char* key, const std::string& where, T& out) {
  if (!object.contains(key)) return ok_status();
  const json& v = object.at(key);
  if (!v.is_number() || (std::is_integral_v<T> && !v.is_number_integer()))
    return field_error(where + "." + key, std::string("must be ") + (std::is_integral_v<T> ? "an integer" : "a number"));
  if constexpr (std::is_integral_v<T>) {
    // Out-of-range integers would wrap; keep them out of the int.
    const auto wide = v.get<std::int64_t>();
    if (wide < -1000000 || wide > 1000000) return field_error(where + "." + key, "is out of range");
  }
  out = v.get<T>();
  return ok_status();
}

Status read_bool(const json& object, const char* key, const std::string& where, bool& out) {
  if (!object.contains(key)) return ok_status();
  if (!object.at(key).is_boolean()) return field_error(where + "." + key, "must be true or false");
  out = object.at(key).get<bool>();
  return ok_status();
}

Status read_string(const json& object, const char* key, const std::string& where, std::string& out) {
  if (!object.contains(key)) return ok_status();
  if (!object.at(key).is_string()) return field_error(where + "." + key, "must be a string");
  out = object.at(key).get<std::string>();
  return ok_status();
}

}  // namespace

bool valid_camera_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && name.front() != '.' && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Status validate_camera(const CameraConfig& c, const std::string& where) {
  if (c.name.empty()) return field_error(where + ".name", "is required");
  if (!valid_camera_name(c.name)) return field_error(where + ".name", "must be 1 to 64 letters, digits or . _ -, not starting with '.'");
  if (c.url.empty()) return field_error(where + ".url", "is required");
  if (c.url.size() > 2048) return field_error(where + ".url", "is longer than 2048 characters");
  if (!printable_text(c.url) || c.url.find(' ') != std::string::npos)
    return field_error(where + ".url", "must be valid UTF-8 without spaces or control characters");
  if (c.rate_fps < 0.1 || c.rate_fps > 30) return field_error(where + ".rate", "must be between 0.1 and 30");
  if (c.min_face_px < 8 || c.min_face_px > 4096) return field_error(where + ".min_face", "must be between 8 and 4096");
  if (c.stall_timeout_s < 1 || c.stall_timeout_s > 600) return field_error(where + ".stall_timeout_s", "must be between 1 and 600");
  if (c.record_retention_days <= 0 || c.record_retention_days > 3650)
    return field_error(where + ".record_retention_days", "must be more than 0 and at most 3650");
  return ok_status();
}

Result<CameraConfig> parse_camera_json(const json& c, const std::string& where, CameraConfig camera, bool allow_name) {
  if (!c.is_object()) return field_error(where, "must be an object");
  static const std::set<std::string> kKeys = {"name", "url", "rate", "min_face", "enabled", "loop", "stall_timeout_s",
                                              "record", "record_retention_days"};
  for (const auto& [key, value] : c.items())
    if (!kKeys.count(key)) return field_error(where + "." + key, "unknown setting");
  if (!allow_name && c.contains("name") && c["name"] != camera.name)
    return field_error(where + ".name", "cannot be changed (delete the camera and create it under the new name)");
  for (Status s : {read_string(c, "name", where, camera.name), read_string(c, "url", where, camera.url),
                   read_number(c, "rate", where, camera.rate_fps), read_number(c, "min_face", where, camera.min_face_px),
                   read_number(c, "stall_timeout_s", where, camera.stall_timeout_s), read_bool(c, "enabled", where, camera.enabled),
                   read_bool(c, "loop", where, camera.loop), read_bool(c, "record", where, camera.record),
                   read_number(c, "record_retention_days", where, camera.record_retention_days)})
    if (!s) return s.error();
  if (auto s = validate_camera(camera, where); !s) return s.error();
  return camera;
}

std::string redacted_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;  // a file path
  const std::size_t authority = scheme_end + 3;
  const std::size_t authority_end = std::min(url.size(), url.find_first_of("/?#", authority));
  std::string out = url.substr(0, authority);
  const std::string host_part = url.substr(authority, authority_end - authority);
  const auto at = host_part.rfind('@');
  out += at == std::string::npos ? host_part : "***@" + host_part.substr(at + 1);
  std::string rest = url.substr(authority_end);
  // Query strings of cameras often carry user= and password= (and tokens): kept out whole.
  if (const auto q = rest.find('?'); q != std::string::npos) rest = rest.substr(0, q) + "?***";
  return out + rest;
}

std::string with_url_redacted(std::string text, const std::string& url) {
  if (url.empty()) return text;
  const std::string redacted = redacted_url(url);
  // On past each replacement: the redacted form may contain the URL itself (it is the URL when
  // there is nothing to hide), and searching from the start again would never end.
  for (std::size_t at = text.find(url); at != std::string::npos; at = text.find(url, at + redacted.size())) text.replace(at, url.size(), redacted);
  return text;
}

json camera_to_json(const CameraConfig& c) {
  return {{"name", c.name},   {"url", redacted_url(c.url)},   {"rate", c.rate_fps}, {"min_face", c.min_face_px},
          {"enabled", c.enabled}, {"loop", c.loop}, {"stall_timeout_s", c.stall_timeout_s},
          {"record", c.record}, {"record_retention_days", c.record_retention_days}};
}

}  // namespace glassbox
