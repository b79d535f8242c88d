// multipart/form-data bodies (RFC 7578) split into their parts. The body has already been
// bounded by the route's size limit; the parser bounds the rest: the number of parts, the size
// of each part's headers, and field names. Untrusted bytes: fuzzed by fuzz/http_fuzzer.cc.
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/message.h"

namespace glassbox::http {

struct MultipartLimits {
  std::size_t max_parts = 64;
  std::size_t max_part_header_bytes = 8192;
  std::size_t max_name_bytes = 100;
};

// `content_type` is the request's Content-Type header (its boundary parameter is used).
Result<std::vector<FormPart>> parse_multipart(std::string_view content_type, std::string_view body,
                                              const MultipartLimits& limits = {});

}  // namespace glassbox::http
