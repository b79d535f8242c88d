// LoginThrottle: how many password (or activation code) guesses a client may make, in memory.
// Two token buckets gate every attempt: one per client address (an IPv6 client by its /64),
// shared by every name it tries, and one per (name, client address). A failure takes a token
// from both; they refill slowly. An attempt without a token in either is refused before any
// password is checked. Nothing is kept per name alone, so a stranger's guesses never lock an
// account out for anyone else, and a name that exists is throttled exactly like one that does
// not (no oracle). docs/accounts.md has the numbers.
// Thread-safety: all members may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace glassbox {

class LoginThrottle {
 public:
  struct Limits {
    double per_client = 30;                 // failures a client address may make in a burst
    double per_client_refill_s = 30;        // one more every this many seconds
    double per_name = 5;                    // failures per (name, client address) in a burst
    double per_name_refill_s = 180;
    std::size_t max_tracked = 50000;        // buckets kept; full ones are forgotten first
  };

  LoginThrottle() : LoginThrottle(Limits{}) {}
  explicit LoginThrottle(Limits limits) : limits_(limits) {}

  // Seconds until an attempt for `name` from `client` may be made; 0: now.
  double wait_s(const std::string& client, const std::string& name, double now_s);
  void failed(const std::string& client, const std::string& name, double now_s);
  // A success restores the (name, client) bucket; the client's own budget stays spent.
  void succeeded(const std::string& client, const std::string& name, double now_s);
  // True for the first refusal of a client since its bucket was last not empty: one audit
  // record per throttled episode, not one per refused request.
  bool first_refusal(const std::string& client, double now_s);
  std::uint64_t refused() const;
  std::size_t tracked() const;  // buckets held now

  // The key of a client address: the address itself, or the /64 prefix of an IPv6 address.
  static std::string client_key(const std::string& address);

 private:
  struct Bucket {
    double tokens = 0;
    double at_s = 0;
    bool refusal_recorded = false;
  };
  double level(Bucket& b, double capacity, double refill_s, double now_s) const;
  Bucket& bucket(const std::string& key, double capacity, double now_s);
  // The client's bucket and the (name, client) one, made room for together: making room for
  // the second must not forget the first while a reference to it is held.
  std::pair<Bucket*, Bucket*> buckets(const std::string& client_key, const std::string& name_key, double now_s);
  // Forgets full buckets, then the oldest, until `room` new ones fit within max_tracked.
  void forget_full(double now_s, std::size_t room);

  const Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mutex_
  std::uint64_t refused_ = 0;                        // guarded by mutex_
};

}  // namespace glassbox
