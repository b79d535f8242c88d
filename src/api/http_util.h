// Small pieces shared by the service's HTTP routes: JSON replies and errors, path ids, the
// status a store's refusal maps to, and who may use which route (docs/accounts.md).
// Thread-safety: pure functions and constants.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>
#include <optional>
#include <set>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "auth/user_store.h"
#include "core/result.h"
#include "enroll/enrollment.h"

namespace glassbox::http {

using nlohmann::json;

inline void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// Who may use a route (docs/accounts.md has the table). An empty set: any account.
inline const std::set<Role> kAnyRole = {};
inline const std::set<Role> kReviewers = {Role::kOperator, Role::kSupervisor};
inline const std::set<Role> kSupervisors = {Role::kSupervisor};
inline const std::set<Role> kAdmins = {Role::kAdmin};
inline const std::set<Role> kAuditors = {Role::kAuditor};
inline const std::set<Role> kCameraReaders = {Role::kOperator, Role::kSupervisor, Role::kAdmin};
inline const std::set<Role> kSearchReaders = {Role::kOperator, Role::kSupervisor, Role::kAuditor};

inline void reply_error(httplib::Response& res, int status, const std::string& message) { reply_json(res, status, {{"error", message}}); }

inline Result<json> parse_json_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::exception& e) {
    return Error{std::string("the body must be JSON: ") + e.what()};
  }
}

// The numeric id in a route's first group; nullopt when it does not fit (no such object).
inline std::optional<std::int64_t> path_id(const httplib::Request& req) {
  try {
    return std::stoll(req.matches[1]);
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
// when the client sent none). They stay in memory: only their templates are ever kept.
inline std::vector<PhotoUpload> uploaded_photos(const httplib::Request& req, const std::string& field) {
  std::vector<PhotoUpload> photos;
  const auto [first, last] = req.files.equal_range(field);
  for (auto it = first; it != last; ++it) {
    const std::string name = it->second.filename.empty() ? field + " " + std::to_string(photos.size() + 1) : it->second.filename;
    photos.push_back({name, std::vector<unsigned char>(it->second.content.begin(), it->second.content.end())});
  }
  return photos;
}

// The HTTP status for a refusal from the stores, from what it says.
inline int refusal_status(const std::string& message) {
  if (message.find("does not exist") != std::string::npos) return 404;
  if (message.find("someone other than") != std::string::npos) return 403;
  if (message.find("needs a reason") != std::string::npos) return 400;
  return 409;
}


}  // namespace glassbox::http
