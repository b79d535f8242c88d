// CameraConfig: what defines one camera of the live service — name, URL, analysis rate,
// minimum face size, enabled, looping (files standing in for cameras), stall timeout, recording — with the
// one parser and validator used by the configuration file, the API and the camera table.
// Every error names the field ("cameras[1].rate: ...").
// Thread-safety: plain values and reentrant functions.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/result.h"

namespace glassbox {

struct CameraConfig {
  std::string name;              // unique, 1..64 of [A-Za-z0-9._-]
  std::string url;               // rtsp://, http(s):// or a file path
  double rate_fps = 5.0;         // analysed frames per second, 0.1..30
  int min_face_px = 32;          // 8..4096
  bool enabled = true;
  bool loop = false;             // files only: play again from the start (tests, demos)
  double stall_timeout_s = 10.0; // 1..600
  bool record = false;           // also record it to disk, remuxed into segments (docs/search.md)
  double record_retention_days = 7.0;  // segments older than this are deleted (audited)

  bool operator==(const CameraConfig&) const = default;
};

// Checks one camera; `where` prefixes errors.
Status validate_camera(const CameraConfig& camera, const std::string& where);

// Reads a camera from a JSON object onto `base` (keys absent keep base's value), then
// validates it. Unknown keys are refused. With `allow_name` false, a "name" key is refused
// (a camera's name is its identity; renaming is delete and create).
Result<CameraConfig> parse_camera_json(const nlohmann::json& object, const std::string& where, CameraConfig base,
                                       bool allow_name = true);

// The JSON form parse_camera_json reads, with the URL redacted: what is shown (API listings,
// audit records, logs) never carries the camera's credentials.
nlohmann::json camera_to_json(const CameraConfig& camera);
// A camera's name: 1 to 64 letters, digits or . _ -, not starting with '.' (it names a folder of
// recordings: never ".", ".." or a hidden one). The one rule for cameras, scopes and searches.
bool valid_camera_name(const std::string& name);
// The URL without its user:password@ and without its query string ("rtsp://***@cam/live?***").
std::string redacted_url(const std::string& url);
// `text` (a library's message, which repeats the URL it failed on) with every occurrence of `url`
// replaced by redacted_url(url).
std::string with_url_redacted(std::string text, const std::string& url);

}  // namespace glassbox
