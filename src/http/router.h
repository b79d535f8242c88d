// Route patterns such as "/api/searches/{int}/visits/{int}/crop": literal segments, `{int}`
// (1 to 18 digits) and `{name}` (any one non-empty segment, percent-decoded). Matching works
// segment by segment on the raw path, so an encoded '/' (%2F) never splits a segment.
// Thread-safety: immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glassbox::http {

class PathPattern {
 public:
  explicit PathPattern(std::string_view pattern);
  // The decoded parameters when `raw_path` matches; nullopt otherwise.
  std::optional<std::vector<std::string>> match(std::string_view raw_path) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kLiteral, kInt, kName };
  struct Segment {
    Kind kind;
    std::string literal;
  };
  std::string text_;
  std::vector<Segment> segments_;
};

}  // namespace glassbox::http
