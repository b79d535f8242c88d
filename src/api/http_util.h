// Small pieces shared by the service's HTTP routes: JSON replies and errors, typed fields of a
// JSON body, path ids, the status a store's refusal maps to, the body limits of each kind of
// route, and who may use which route (docs/accounts.md).
// Thread-safety: pure functions and constants.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/user_store.h"
#include "core/json_text.h"
#include "core/result.h"
#include "core/text.h"
#include "enroll/enrollment.h"
#include "http/message.h"

namespace glassbox::http {

using nlohmann::json;

// Serialised leniently: a byte that is not UTF-8 (it cannot pass the checks at the edge, but a
// database written by an older version may hold one) becomes U+FFFD instead of an exception.
inline std::string dump_json(const json& body) { return to_json_text(body); }

inline void reply_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

inline void reply_error(Response& res, int status, const std::string& message) {
  reply_json(res, status, {{"error", sanitized_utf8(message)}});
  if (status == 503 || status == 429) res.set_header("Retry-After", "1");
}

// Body limits (docs/security.md, "Limits per route").
inline constexpr std::size_t kSmallJson = 4 * 1024;        // login, tokens, users, decisions
inline constexpr std::size_t kCameraJson = 64 * 1024;
inline constexpr std::size_t kPhotoForm = 32u << 20;       // an entry's or a search's photos
inline constexpr std::size_t kUploadChunk = 64u << 20;     // one chunk of a recording
inline constexpr std::size_t kMaxPhotoBytes = 20u << 20;   // one photo
inline constexpr std::size_t kMaxPhotos = 10;              // photos per entry

// Who may use a route (docs/accounts.md has the table). An empty set: any account.
inline const std::set<Role> kAnyRole = {};
inline const std::set<Role> kReviewers = {Role::kOperator, Role::kSupervisor};
inline const std::set<Role> kSupervisors = {Role::kSupervisor};
inline const std::set<Role> kAdmins = {Role::kAdmin};
inline const std::set<Role> kAuditors = {Role::kAuditor};
inline const std::set<Role> kCameraReaders = {Role::kOperator, Role::kSupervisor, Role::kAdmin};
inline const std::set<Role> kSearchReaders = {Role::kOperator, Role::kSupervisor, Role::kAuditor};

// The body as a JSON object; an empty body is the empty object when `empty_ok`.
inline Result<json> parse_json_object(const Request& req, bool empty_ok = false) {
  if (req.body.empty() && empty_ok) return json::object();
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception&) {
    return Error{"the body must be a JSON object"};
  }
  if (!body.is_object()) return Error{"the body must be a JSON object"};
  return body;
}

// A string member: absent gives nullopt (or an error when `required`); anything but a string of
// valid UTF-8 within `max_bytes` is an error naming the field, and so is a control character or
// a bidirectional override in text people read (`printable`; not in passwords or codes).
inline Result<std::optional<std::string>> string_member(const json& body, const char* key, bool required, std::size_t max_bytes = 2000,
                                                        bool printable = true) {
  if (!body.contains(key)) {
    if (required) return Error{std::string(key) + " is required"};
    return std::optional<std::string>{};
  }
  if (!body.at(key).is_string()) return Error{std::string(key) + " must be a string"};
  std::string value = body.at(key).get<std::string>();
  if (value.size() > max_bytes) return Error{std::string(key) + " is longer than " + std::to_string(max_bytes) + " bytes"};
  if (!valid_utf8(value)) return Error{std::string(key) + " is not valid UTF-8"};
  if (printable && !printable_text(value)) return Error{std::string(key) + " must not contain control characters or bidirectional overrides"};
  return std::optional<std::string>{std::move(value)};
}

// The numeric id in a route's `{int}` parameter `index`; nullopt when it does not fit.
inline std::optional<std::int64_t> path_id(const Request& req, std::size_t index = 0) {
  if (index >= req.path_params.size()) return std::nullopt;
  try {
    return std::stoll(req.path_params[index]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A form field holding names or ids separated by commas; empty items are skipped.
inline std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto end = std::min(text.find(',', at), text.size());
    if (end > at) items.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return items;
}

// The files a multipart form sends under `field` (photos, probes), with their names ("photo 2"
// when the client sent none, or sent one that is not printable text). They stay in memory: only
// their templates are ever kept.
inline std::vector<PhotoUpload> uploaded_photos(const Request& req, const std::string& field) {
  std::vector<PhotoUpload> photos;
  for (const FormPart* part : req.parts(field)) {
    const std::string fallback = field + " " + std::to_string(photos.size() + 1);
    const bool usable = !part->filename.empty() && part->filename.size() <= 200 && printable_text(part->filename);
    photos.push_back({usable ? part->filename : fallback, std::vector<unsigned char>(part->content.begin(), part->content.end())});
  }
  return photos;
}

// The HTTP status for a refusal from the stores, from what it says.
inline int refusal_status(const std::string& message) {
  if (message.find("does not exist") != std::string::npos) return 404;
  if (message.find("someone other than") != std::string::npos || message.find("other than") != std::string::npos) return 403;
  if (message.find("needs a reason") != std::string::npos) return 400;
  return 409;
}

}  // namespace glassbox::http
