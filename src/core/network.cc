#include "core/network.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

namespace glassbox {
namespace {

// 16 bytes for either family; IPv4 as itself in the first 4 (v6 false).
std::optional<IpNetwork> parse_address(const std::string& text) {
  IpNetwork a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.bits = 32;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    a.bits = 128;
    // IPv4-mapped: compare as IPv4.
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
      IpNetwork v4;
      std::memcpy(v4.bytes.data(), a.bytes.data() + 12, 4);
      v4.bits = 32;
      return v4;
    }
    return a;
  }
  return std::nullopt;
}

}  // namespace

std::optional<IpNetwork> parse_network(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  IpNetwork n;
  const std::string address = text.substr(0, slash);
  if (inet_pton(AF_INET, address.c_str(), n.bytes.data()) == 1) {
    n.v6 = false;
  } else if (inet_pton(AF_INET6, address.c_str(), n.bytes.data()) == 1) {
    n.v6 = true;
  } else {
    return std::nullopt;
  }
  try {
    std::size_t used = 0;
    n.bits = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (n.bits < 0 || n.bits > (n.v6 ? 128 : 32)) return std::nullopt;
  return n;
}

bool address_in(const std::string& address, const IpNetwork& network) {
  const auto a = parse_address(address);
  if (!a || a->v6 != network.v6) return false;
  int bits = network.bits;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((a->bytes[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

Result<std::vector<std::string>> resolve_host(const std::string& host) {
  if (parse_address(host)) return std::vector<std::string>{host};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) return Error{host + ": cannot resolve (" + gai_strerror(rc) + ")"};
  std::vector<std::string> out;
  for (addrinfo* p = found; p != nullptr; p = p->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (p->ai_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, text, sizeof text);
    else if (p->ai_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, text, sizeof text);
    if (text[0] != '\0') out.emplace_back(text);
  }
  freeaddrinfo(found);
  return out;
}

}  // namespace glassbox
