#include "http/message.h"

#include <algorithm>
#include <cctype>

namespace glassbox::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const std::string* find_header(const Fields& fields, std::string_view name) {
  for (const auto& [key, value] : fields)
    if (iequals(key, name)) return &value;
  return nullptr;
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::optional<Fields> parse_query(std::string_view query) {
  Fields out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view part = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && trim(part.substr(0, eq)) == name) return std::string(trim(part.substr(eq + 1)));
  }
  return {};
}

std::optional<std::string> header_parameter(std::string_view value, std::string_view name) {
  // value = type *( OWS ";" OWS key "=" ( token / quoted-string ) )
  std::size_t at = value.find(';');
  auto skip_space = [&] {
    while (at < value.size() && (value[at] == ' ' || value[at] == '\t')) ++at;
  };
  while (at != std::string_view::npos && at < value.size()) {
    ++at;  // past ';'
    skip_space();
    const std::size_t key_start = at;
    while (at < value.size() && value[at] != '=' && value[at] != ';') ++at;
    if (at >= value.size() || value[at] != '=') continue;
    const std::string_view key = trim(value.substr(key_start, at - key_start));
    ++at;  // past '='
    skip_space();
    std::string result;
    if (at < value.size() && value[at] == '"') {
      ++at;
      bool closed = false;
      for (; at < value.size(); ++at) {
        if (value[at] == '\\' && at + 1 < value.size()) {
          result.push_back(value[++at]);
        } else if (value[at] == '"') {
          closed = true;
          ++at;
          break;
        } else {
          result.push_back(value[at]);
        }
      }
      if (!closed) return std::nullopt;
    } else {
      const std::size_t start = at;
      while (at < value.size() && value[at] != ';') ++at;
      result = std::string(trim(value.substr(start, at - start)));
    }
    if (iequals(key, name)) return result;
    at = value.find(';', at);
  }
  return std::nullopt;
}

std::string Request::header(std::string_view name) const {
  const std::string* v = find_header(headers, name);
  return v ? *v : std::string();
}

bool Request::has_header(std::string_view name) const { return find_header(headers, name) != nullptr; }

std::size_t Request::header_count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& f) { return iequals(f.first, name); }));
}

bool Request::has_param(std::string_view name) const {
  return std::any_of(query.begin(), query.end(), [&](const auto& p) { return p.first == name; });
}

std::string Request::param(std::string_view name) const {
  for (const auto& [key, value] : query)
    if (key == name) return value;
  return {};
}

std::string Request::media_type() const {
  std::string type(trim(std::string_view(header("Content-Type")).substr(0, header("Content-Type").find(';'))));
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

bool Request::has_field(std::string_view name) const {
  return std::any_of(form.begin(), form.end(), [&](const FormPart& p) { return p.name == name; });
}

std::string Request::field(std::string_view name) const {
  for (const FormPart& p : form)
    if (p.name == name) return p.content;
  return {};
}

std::vector<const FormPart*> Request::parts(std::string_view name) const {
  std::vector<const FormPart*> out;
  for (const FormPart& p : form)
    if (p.name == name) out.push_back(&p);
  return out;
}

std::string Request::cookie(std::string_view name) const { return cookie_value(header("Cookie"), name); }

void Response::set_header(std::string name, std::string value) {
  for (auto& [key, v] : headers)
    if (iequals(key, name)) {
      v = std::move(value);
      return;
    }
  headers.emplace_back(std::move(name), std::move(value));
}

void Response::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  set_header("Content-Type", std::move(content_type));
}

std::string Response::header(std::string_view name) const {
  const std::string* v = find_header(headers, name);
  return v ? *v : std::string();
}

}  // namespace glassbox::http
