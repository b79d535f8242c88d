// JSON documents to text, leniently: a string that is not valid UTF-8 (the edges refuse them,
// but a database written by an older version, a file name or a library's message may hold one)
// comes out with U+FFFD in place of the bad bytes, never as an exception on a thread that
// nothing would catch. Every dump of data that came from outside goes through here.
// Also: optional values as JSON null, and lenient reading of fields of JSON the program wrote
// itself (stored in the database): a field missing or of another type leaves the default.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace glassbox {

inline std::string to_json_text(const nlohmann::json& document, int indent = -1) {
  return document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The value, or null when there is none.
template <typename T>
nlohmann::json json_or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// `field` = j[key] when it is there with the field's kind (a string, or a number); else unchanged.
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, T& field) {
  if (!j.is_object()) return;
  auto it = j.find(key);
  if (it == j.end()) return;
  if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) field = it->template get<std::string>();
  } else {
    if (it->is_number()) field = it->template get<T>();
  }
}

// The same for an optional field: set when j[key] is there with its kind, else unchanged.
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, std::optional<T>& field) {
  T value{};
  if (!j.is_object() || !j.contains(key)) return;
  const bool kind = std::is_same_v<T, std::string> ? j[key].is_string() : j[key].is_number();
  if (!kind) return;
  read_json_field(j, key, value);
  field = value;
}

}  // namespace glassbox
