#include "http/router.h"

#include <algorithm>
#include <cctype>

#include "http/message.h"

namespace glassbox::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

PathPattern::PathPattern(std::string_view pattern) : text_(pattern) {
  for (std::string_view s : split_path(pattern)) {
    if (s == "{int}") segments_.push_back({Kind::kInt, {}});
    else if (s == "{name}") segments_.push_back({Kind::kName, {}});
    else segments_.push_back({Kind::kLiteral, std::string(s)});
  }
}

std::optional<std::vector<std::string>> PathPattern::match(std::string_view raw_path) const {
  const auto parts = split_path(raw_path);
  if (parts.size() != segments_.size()) return std::nullopt;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Segment& seg = segments_[i];
    switch (seg.kind) {
      case Kind::kLiteral:
        if (parts[i] != seg.literal) return std::nullopt;
        break;
      case Kind::kInt:
        if (parts[i].empty() || parts[i].size() > 18 ||
            !std::all_of(parts[i].begin(), parts[i].end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
          return std::nullopt;
        params.emplace_back(parts[i]);
        break;
      case Kind::kName: {
        auto decoded = percent_decode(parts[i], false);
        if (!decoded || decoded->empty()) return std::nullopt;
        params.push_back(std::move(*decoded));
        break;
      }
    }
  }
  return params;
}

}  // namespace glassbox::http
