// JSON documents to text, leniently: a string that is not valid UTF-8 (the edges refuse them,
// but a database written by an older version, a file name or a library's message may hold one)
// comes out with U+FFFD in place of the bad bytes, never as an exception on a thread that
// nothing would catch. Every dump of data that came from outside goes through here.
// Thread-safety: a pure function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace glassbox {

inline std::string to_json_text(const nlohmann::json& document, int indent = -1) {
  return document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace glassbox
