// The HTTP request and response the service's routes see, independent of the server library:
// a request whose headers, query and body the server has already bounded and checked
// (docs/security.md, "The HTTP layer"), and a response that is either a whole body or a stream
// of Server-Sent Events. Also the small parsers every route needs: the query string, cookies,
// percent-decoding and the media type of Content-Type.
// Thread-safety: plain values; a Request and its Response belong to one request at a time.
#pragma once

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glassbox::http {

using Fields = std::vector<std::pair<std::string, std::string>>;

// One part of a multipart/form-data body (RFC 7578): a text field or an uploaded file.
struct FormPart {
  std::string name;
  std::string filename;      // empty for a text field
  std::string content_type;  // as the client declared it; empty if not given
  std::string content;
};

class Request {
 public:
  std::string method;  // upper case; a HEAD request reaches its GET route with method "HEAD"
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded, without the query
  Fields headers;      // names as received; look them up with header()
  Fields query;        // decoded name=value pairs, in order
  std::string body;
  std::vector<std::string> path_params;  // the route pattern's {parameters}, in order
  std::vector<FormPart> form;            // the parts of a multipart/form-data body (form routes only)
  std::string client_address;            // the peer, or the address a trusted proxy forwarded
  bool secure = false;                   // reached over TLS (here or at a trusted proxy)
  std::any context;                      // what the route's admission check learnt (who is calling)
  std::string principal;                 // who that is, for the access log ("olga session:1f2e...")

  // The first value of a header (case-insensitive name); "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
  bool has_param(std::string_view name) const;
  std::string param(std::string_view name) const;  // the first value; "" when absent
  // The media type of Content-Type, lower case, without parameters ("application/json").
  std::string media_type() const;
  // A form field's content ("" when absent), whether it exists, and every part of that name.
  bool has_field(std::string_view name) const;
  std::string field(std::string_view name) const;
  std::vector<const FormPart*> parts(std::string_view name) const;
  std::string cookie(std::string_view name) const;
};

// A response streamed as Server-Sent Events. The server polls it on its I/O thread (poll must
// not block) whenever the stream calls the waker it was given, and at each keep-alive tick.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Bytes to send now ("" for none), or nullopt once the stream is over (for example, because
  // the credentials it was opened with were revoked or expired).
  virtual std::optional<std::string> poll() = 0;
  // `wake` may be called from any thread, any number of times, until close().
  virtual void set_waker(std::function<void()> wake) = 0;
  // The client went away or the server is stopping; called once.
  virtual void close() = 0;
};

class Response {
 public:
  int status = 200;
  Fields headers;
  std::string body;
  std::shared_ptr<EventStream> stream;  // set: the body is this event stream (status 200)

  void set_header(std::string name, std::string value);
  void set_content(std::string content, std::string content_type);
  std::string header(std::string_view name) const;
};

bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing spaces and tabs (header values, parameters).
std::string_view trim(std::string_view s);
// %XX decoded; `plus_is_space` for query strings. nullopt for a malformed escape or a NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// name=value pairs of a query string (without the '?'); nullopt when an escape is malformed.
std::optional<Fields> parse_query(std::string_view query);
// The value of `name` in a Cookie header ("" when absent).
std::string cookie_value(std::string_view cookie_header, std::string_view name);
// The parameter `name` of a header value such as `multipart/form-data; boundary="x"`.
std::optional<std::string> header_parameter(std::string_view value, std::string_view name);

}  // namespace glassbox::http
