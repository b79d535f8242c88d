// IP networks written as ADDRESS/BITS ("169.254.0.0/16", "fe80::/10"), and whether an address
// lies in one; and the addresses a host name resolves to. For the camera URL policy
// (docs/security.md) and trusted proxies.
// Thread-safety: pure functions (resolve() calls getaddrinfo, which is thread-safe).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace glassbox {

struct IpNetwork {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};
  int bits = 0;
};

std::optional<IpNetwork> parse_network(const std::string& text);
// `address` is a literal IPv4 or IPv6 address; false when it is neither. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d) is compared as the IPv4 address it maps.
bool address_in(const std::string& address, const IpNetwork& network);
// Every address `host` resolves to (a literal address: itself).
Result<std::vector<std::string>> resolve_host(const std::string& host);

}  // namespace glassbox
