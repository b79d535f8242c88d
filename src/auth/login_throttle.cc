#include "auth/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace glassbox {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string LoginThrottle::client_key(const std::string& address) {
  unsigned char v6[16];
  if (address.find(':') != std::string::npos && inet_pton(AF_INET6, address.c_str(), v6) == 1) {
    std::fill(v6 + 8, v6 + 16, 0);  // one IPv6 client commonly holds a whole /64
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, v6, text, sizeof text)) return std::string(text) + "/64";
  }
  return address;
}

double LoginThrottle::level(Bucket& b, double capacity, double refill_s, double now_s) const {
  b.tokens = std::min(capacity, b.tokens + std::max(0.0, now_s - b.at_s) / refill_s);
  b.at_s = now_s;
  return b.tokens;
}

LoginThrottle::Bucket& LoginThrottle::bucket(const std::string& key, double capacity, double now_s) {
  auto it = buckets_.find(key);
  if (it != buckets_.end()) return it->second;
  if (buckets_.size() >= limits_.max_tracked) forget_full(now_s, 1);
  return buckets_.emplace(key, Bucket{capacity, now_s, false}).first->second;
}

std::pair<LoginThrottle::Bucket*, LoginThrottle::Bucket*> LoginThrottle::buckets(const std::string& client_key, const std::string& name_key,
                                                                                 double now_s) {
  // Room for both first, then both made: an unordered_map keeps references to its elements
  // across inserts, but not across erases. (Taking the client's bucket and then making room for
  // the name's could forget the client's, which is full when new: AddressSanitizer found the
  // login path writing through that dangling reference once max_tracked was reached.)
  const std::size_t missing = (buckets_.count(client_key) == 0 ? 1 : 0) + (buckets_.count(name_key) == 0 ? 1 : 0);
  if (missing > 0 && buckets_.size() + missing > limits_.max_tracked) forget_full(now_s, missing);
  Bucket& by_client = buckets_.try_emplace(client_key, Bucket{limits_.per_client, now_s, false}).first->second;
  Bucket& by_name = buckets_.try_emplace(name_key, Bucket{limits_.per_name, now_s, false}).first->second;
  return {&by_client, &by_name};
}

void LoginThrottle::forget_full(double now_s, std::size_t room) {
  // A full bucket is the same as none. If every bucket holds debt, the oldest go: memory stays
  // bounded and the worst an attacker gets by churning keys is the start of a fresh budget.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const bool per_name = it->first.rfind("n:", 0) == 0;
    const double cap = per_name ? limits_.per_name : limits_.per_client;
    const double refill = per_name ? limits_.per_name_refill_s : limits_.per_client_refill_s;
    if (level(it->second, cap, refill, now_s) >= cap) it = buckets_.erase(it);
    else ++it;
  }
  while (!buckets_.empty() && buckets_.size() + room > limits_.max_tracked) {
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](const auto& a, const auto& b) { return a.second.at_s < b.second.at_s; });
    buckets_.erase(oldest);
  }
}

double LoginThrottle::wait_s(const std::string& client, const std::string& name, double now_s) {
  std::lock_guard lock(mutex_);
  const std::string c = "c:" + client_key(client), n = "n:" + lower(name) + "@" + client_key(client);
  auto [client_bucket, name_bucket] = buckets(c, n, now_s);
  Bucket& by_client = *client_bucket;
  Bucket& by_name = *name_bucket;
  const double a = level(by_client, limits_.per_client, limits_.per_client_refill_s, now_s);
  const double b = level(by_name, limits_.per_name, limits_.per_name_refill_s, now_s);
  double wait = 0.0;
  if (a < 1.0) wait = std::max(wait, (1.0 - a) * limits_.per_client_refill_s);
  if (b < 1.0) wait = std::max(wait, (1.0 - b) * limits_.per_name_refill_s);
  if (wait > 0.0) ++refused_;
  else by_client.refusal_recorded = false;
  return wait;
}

void LoginThrottle::failed(const std::string& client, const std::string& name, double now_s) {
  std::lock_guard lock(mutex_);
  const std::string c = "c:" + client_key(client), n = "n:" + lower(name) + "@" + client_key(client);
  auto [client_bucket, name_bucket] = buckets(c, n, now_s);
  Bucket& by_client = *client_bucket;
  Bucket& by_name = *name_bucket;
  by_client.tokens = std::max(0.0, level(by_client, limits_.per_client, limits_.per_client_refill_s, now_s) - 1.0);
  by_name.tokens = std::max(0.0, level(by_name, limits_.per_name, limits_.per_name_refill_s, now_s) - 1.0);
}

void LoginThrottle::succeeded(const std::string& client, const std::string& name, double now_s) {
  std::lock_guard lock(mutex_);
  buckets_.erase("n:" + lower(name) + "@" + client_key(client));
  (void)now_s;
}

bool LoginThrottle::first_refusal(const std::string& client, double now_s) {
  std::lock_guard lock(mutex_);
  Bucket& b = bucket("c:" + client_key(client), limits_.per_client, now_s);
  if (b.refusal_recorded) return false;
  b.refusal_recorded = true;
  return true;
}

std::size_t LoginThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::uint64_t LoginThrottle::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

}  // namespace glassbox
