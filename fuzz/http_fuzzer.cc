// Fuzz target for the parsers of the HTTP layer and the other checks at the service's edge:
// multipart bodies, query strings, percent-decoding, header parameters, cookies, route patterns,
// image headers, the UTF-8 checks, camera URL redaction and client keys. Invariants, not just
// "no crash": what sanitized_utf8 returns is valid UTF-8; text that printable_text accepts
// serialises as strict JSON; a redacted URL keeps no user:password@. Built with libFuzzer when
// -DGLASSBOX_FUZZ=ON, and always as a runner that replays fuzz/corpus_http/ in the test suite.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/login_throttle.h"
#include "core/text.h"
#include "http/message.h"
#include "http/multipart.h"
#include "http/router.h"
#include "ingest/camera_config.h"
#include "ingest/image_sources.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace glassbox;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first line as a Content-Type, the rest as the body; and the whole with a fixed boundary.
  const auto eol = text.find('\n');
  const std::string first = text.substr(0, eol);
  const std::string rest = eol == std::string::npos ? std::string() : text.substr(eol + 1);
  for (const auto& [type, body] : {std::pair{first, rest}, std::pair{std::string("multipart/form-data; boundary=b"), text}}) {
    auto parts = http::parse_multipart(type, body, {8, 512, 100});
    if (parts) {
      check(parts->size() <= 8);
      for (const auto& p : *parts) check(!p.name.empty() && p.name.size() <= 100 && p.content.size() <= body.size());
    }
  }
  (void)http::parse_query(text);
  if (auto decoded = http::percent_decode(text, true)) check(decoded->find('\0') == std::string::npos);
  (void)http::header_parameter(text, "boundary");
  (void)http::cookie_value(text, "glassbox_session");
  for (const char* pattern : {"/api/searches/{int}/visits/{int}/crop", "/api/cameras/{name}", "/api/users/{name}/approve"}) {
    auto params = http::PathPattern(pattern).match(first);
    if (params)
      for (const auto& p : *params) check(!p.empty() && p.find('\0') == std::string::npos);
  }
  (void)read_image_header(std::vector<unsigned char>(text.begin(), text.end()));

  const std::string clean = sanitized_utf8(text);
  check(valid_utf8(clean));
  if (printable_text(text)) {
    check(valid_utf8(text));
    (void)nlohmann::json(text).dump();  // strict: throws (and so fails) on bytes that are not UTF-8
  }
  const std::string redacted = redacted_url(first);
  if (redacted.find("://") != std::string::npos) {
    const auto authority = redacted.substr(redacted.find("://") + 3);
    const auto host = authority.substr(0, authority.find_first_of("/?#"));
    check(host.find('@') == std::string::npos || host.rfind("***@", 0) == 0);
  }
  (void)LoginThrottle::client_key(first);
  return 0;
}
