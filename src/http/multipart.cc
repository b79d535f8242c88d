#include "http/multipart.h"

#include <algorithm>

namespace glassbox::http {
namespace {

// After a delimiter: optional spaces and tabs ("transport padding"), then CRLF. Returns the
// position after the CRLF, or npos.
std::size_t after_padding_and_crlf(std::string_view body, std::size_t at) {
  while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
  if (body.substr(at, 2) != "\r\n") return std::string_view::npos;
  return at + 2;
}

}  // namespace

Result<std::vector<FormPart>> parse_multipart(std::string_view content_type, std::string_view body, const MultipartLimits& limits) {
  const auto boundary = header_parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70)
    return Error{"multipart/form-data needs a boundary parameter of 1 to 70 characters"};
  const std::string dash_boundary = "--" + *boundary;
  const std::string delimiter = "\r\n" + dash_boundary;
  // The first boundary opens the body, or ends a preamble on a line of its own.
  std::size_t at;
  if (body.substr(0, dash_boundary.size()) == dash_boundary) {
    at = dash_boundary.size();
  } else {
    const auto found = body.find(delimiter);
    if (found == std::string_view::npos) return Error{"the multipart body holds no boundary"};
    at = found + delimiter.size();
  }
  std::vector<FormPart> parts;
  while (true) {
    if (body.substr(at, 2) == "--") return parts;  // the close delimiter; the epilogue is ignored
    at = after_padding_and_crlf(body, at);
    if (at == std::string_view::npos) return Error{"a multipart boundary is not followed by a line end"};
    if (parts.size() >= limits.max_parts) return Error{"more than " + std::to_string(limits.max_parts) + " parts in the form"};
    const auto headers_end = body.find("\r\n\r\n", at);
    // A part without headers starts with the blank line at once.
    const bool no_headers = body.substr(at, 2) == "\r\n";
    if (!no_headers && headers_end == std::string_view::npos) return Error{"a form part's headers do not end"};
    const std::size_t header_bytes = no_headers ? 0 : headers_end - at;
    if (header_bytes > limits.max_part_header_bytes) return Error{"a form part's headers are longer than " + std::to_string(limits.max_part_header_bytes) + " bytes"};
    FormPart part;
    bool form_data = false;
    std::string_view headers = body.substr(at, header_bytes);
    while (!headers.empty()) {
      const auto eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return Error{"a form part has a malformed header line"};
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "Content-Disposition")) {
        const std::string_view type = trim(value.substr(0, value.find(';')));
        if (!iequals(type, "form-data")) return Error{"a form part's Content-Disposition is not form-data"};
        auto field = header_parameter(value, "name");
        if (!field) return Error{"a form part has no name"};
        part.name = *field;
        if (auto file = header_parameter(value, "filename")) part.filename = *file;
        form_data = true;
      } else if (iequals(name, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    if (!form_data || part.name.empty()) return Error{"a form part has no Content-Disposition: form-data with a name"};
    if (part.name.size() > limits.max_name_bytes) return Error{"a form field's name is longer than " + std::to_string(limits.max_name_bytes) + " bytes"};
    const std::size_t content_start = no_headers ? at + 2 : headers_end + 4;
    const auto content_end = body.find(delimiter, content_start);
    if (content_end == std::string_view::npos) return Error{"the multipart body ends inside a part (no closing boundary)"};
    part.content = std::string(body.substr(content_start, content_end - content_start));
    parts.push_back(std::move(part));
    at = content_end + delimiter.size();
  }
}

}  // namespace glassbox::http
