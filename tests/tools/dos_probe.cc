// dos_probe: the review's denial-of-service recipes, bounded so they cannot take the machine
// down, run against a `glassbox serve` that is already listening (this build or an older one),
// measuring what the attack costs the service: its resident memory above the baseline (peak),
// its threads, how slow /health and a signed-in request got, and what the attacker was told.
// scripts/security-dos-bench.sh starts the service and runs it; the figures of docs/security.md
// come from there.
//   dos_probe --port P --pid PID --token T [--only chunked,gzip,...] > result.json
#include <signal.h>
#include <zlib.h>

#include <atomic>
#include <iostream>
#include <set>
#include <thread>

#include "security/security_support.h"

using namespace glassbox::sectest;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Measure {
  int port = 0, pid = 0;
  std::string token;
  long baseline = 0;
  std::atomic<long> peak{0};
  std::atomic<int> peak_threads{0};
  std::atomic<bool> stop{false};
  std::thread sampler;
  std::unique_ptr<HealthProbe> health;
  std::atomic<double> slowest_me{0};
  std::thread me;

  void begin() {
    baseline = rss_kib(pid);
    peak = 0;
    peak_threads = thread_count(pid);
    stop = false;
    slowest_me = 0;
    health = std::make_unique<HealthProbe>(port, 200ms);
    sampler = std::thread([this] {
      while (!stop) {
        const long r = rss_kib(pid);
        if (r < 0) return;  // gone
        if (r - baseline > peak) peak = r - baseline;
        peak_threads = std::max(peak_threads.load(), thread_count(pid));
        std::this_thread::sleep_for(20ms);
      }
    });
    me = std::thread([this] {
      while (!stop) {
        const auto started = Clock::now();
        auto r = request(port, "GET", "/api/me", {{"Authorization", "Bearer " + token}}, {}, waiting(10));
        const double s = r ? std::chrono::duration<double>(Clock::now() - started).count() : 10.0;
        if (s > slowest_me) slowest_me = s;
        std::this_thread::sleep_for(200ms);
      }
    });
  }
  json end(const std::string& outcome) {
    std::this_thread::sleep_for(500ms);
    stop = true;
    sampler.join();
    me.join();
    health->stop();
    json j = {{"outcome", outcome},
              {"rss_peak_growth_mib", peak / 1024.0},
              {"threads_peak", peak_threads.load()},
              {"health_slowest_s", health->slowest_s()},
              {"health_failed", health->failed()},
              {"signed_in_slowest_s", slowest_me.load()},
              {"alive", rss_kib(pid) > 0}};
    return j;
  }
};

std::string status_of(const std::optional<Reply>& r) { return r ? std::to_string(r->status) : "no answer (closed)"; }

std::string gzip_of_zeros(std::size_t inflated) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
  std::string out;
  const std::string zeros(1 << 20, '\0');
  std::string buffer(1 << 16, '\0');
  for (std::size_t done = 0; done < inflated; done += zeros.size()) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    z.avail_in = static_cast<uInt>(zeros.size());
    const int flush = done + zeros.size() >= inflated ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buffer.data());
      z.avail_out = static_cast<uInt>(buffer.size());
      deflate(&z, flush);
      out.append(buffer.data(), buffer.size() - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Measure m;
  std::set<std::string> only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port") m.port = std::stoi(value);
    else if (flag == "--pid") m.pid = std::stoi(value);
    else if (flag == "--token") m.token = value;
    else if (flag == "--only") {
      std::size_t at = 0;
      while (at <= value.size()) {
        const auto comma = std::min(value.find(',', at), value.size());
        only.insert(value.substr(at, comma - at));
        at = comma + 1;
      }
    }
  }
  if (m.port == 0 || m.pid == 0 || m.token.empty()) {
    std::cerr << "usage: dos_probe --port P --pid PID --token T [--only a,b]\n";
    return 2;
  }
  auto wanted = [&](const std::string& name) { return only.empty() || only.count(name); };
  json results = json::object();
  auto run = [&](const std::string& name, const std::function<std::string()>& attack) {
    if (!wanted(name) || rss_kib(m.pid) < 0) return;
    std::cerr << "dos_probe: " << name << "\n";
    m.begin();
    const std::string outcome = attack();
    results[name] = m.end(outcome);
  };

  // C-01 (1): 64 MiB chunked to the login form.
  run("chunked_body", [&] {
    auto c = Connection::open(m.port);
    c->send("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "100000\r\n" + std::string(1 << 20, 'a') + "\r\n";
    int sent = 0;
    while (sent < 64 && c->send(chunk)) ++sent;
    c->send("0\r\n\r\n");
    return status_of(c->read_reply(30)) + " after " + std::to_string(sent) + " MiB sent";
  });
  // C-01 (2): gzip that inflates to 1 GiB, to the login form.
  run("gzip_body", [&] {
    const std::string bomb = gzip_of_zeros(std::size_t{1} << 30);
    auto r = request(m.port, "POST", "/api/login", {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}, bomb, waiting(60));
    return status_of(r) + " for " + std::to_string(bomb.size() >> 10) + " KiB of gzip";
  });
  // C-01 (3): 2,700 overlapping ranges of the API document.
  run("ranges", [&] {
    std::string ranges = "bytes=0-";
    for (int i = 0; i < 2700; ++i) ranges += ",0-";
    auto c = Connection::open(m.port);
    c->send(head("GET", "/openapi.json", {{"Range", ranges}}, 0, false));
    std::size_t received = 0;
    for (std::string got = c->read_some(10); !got.empty(); got = c->read_some(5)) received += got.size();
    return std::to_string(received >> 10) + " KiB received";
  });
  // C-01 (4): a header line of 256 MiB that never ends.
  run("endless_header", [&] {
    auto c = Connection::open(m.port);
    c->send("GET /health HTTP/1.1\r\nHost: x\r\nX: ");
    const std::string block(1 << 20, 'a');
    int sent = 0;
    while (sent < 256 && c->send(block)) ++sent;
    return "the server stopped reading after " + std::to_string(sent) + " MiB";
  });
  // C-18: two 62 MiB JSON arrays to the login form.
  run("json_arrays", [&] {
    const std::string body = "[" + [] {
      std::string s;
      s.reserve(std::size_t{62} << 20);
      while (s.size() < (std::size_t{62} << 20) - 2) s += "0,";
      return s;
    }() + "0]";
    std::vector<std::thread> senders;
    std::vector<std::string> outcomes(2);
    for (int i = 0; i < 2; ++i)
      senders.emplace_back([&, i] {
        // The head and a first MiB; a server that refuses by the length answers now.
        auto c = Connection::open(m.port);
        c->send(head("POST", "/api/login", {{"Content-Type", "application/json"}}, body.size()) + body.substr(0, 1 << 20));
        auto early = c->read_reply(2);
        if (early) {
          outcomes[i] = std::to_string(early->status) + " before the body";
          return;
        }
        c->send(body.substr(1 << 20));
        outcomes[i] = status_of(c->read_reply(60)) + " after the whole body";
      });
    for (auto& t : senders) t.join();
    return outcomes[0] + ", " + outcomes[1];
  });
  // C-02: 64 connections sending a header line every 2 s, for 12 s.
  run("slowloris", [&] {
    std::vector<std::unique_ptr<Connection>> slow;
    for (int i = 0; i < 64; ++i)
      if (auto c = Connection::open(m.port, from("127.0.0.5")); c && c->send("GET /health HTTP/1.1\r\nHost: x\r\n")) slow.push_back(std::move(c));
    const auto started = Clock::now();
    while (Clock::now() - started < 12s) {
      for (auto& c : slow) c->send("X-a: b\r\n");
      std::this_thread::sleep_for(2s);
    }
    int open = 0;
    for (auto& c : slow) open += c->closed_within(0.2) ? 0 : 1;
    return std::to_string(slow.size()) + " slow connections, " + std::to_string(open) + " still open after 12 s";
  });
  // C-02: 16 live event streams of one account, for 6 s.
  run("event_streams", [&] {
    std::vector<std::unique_ptr<Connection>> streams;
    int accepted = 0;
    for (int i = 0; i < 16; ++i) {
      auto c = Connection::open(m.port);
      c->send(head("GET", "/api/events", {{"Authorization", "Bearer " + m.token}}, 0, false));
      streams.push_back(std::move(c));
    }
    for (auto& c : streams) accepted += c->read_some(3).find(" 200 ") != std::string::npos;
    std::this_thread::sleep_for(6s);
    return std::to_string(accepted) + " of 16 streams open";
  });
  // C-03: sixteen clients logging in as names that exist nowhere, for 8 s.
  run("login_flood", [&] {
    std::atomic<bool> stop{false};
    std::atomic<int> answers{0};
    std::vector<std::thread> flood;
    for (int i = 0; i < 16; ++i)
      flood.emplace_back([&, i] {
        for (int n = 0; !stop; ++n) {
          auto r = request(m.port, "POST", "/api/login", {{"Content-Type", "application/json"}},
                           R"({"name": "flood)" + std::to_string(i) + "-" + std::to_string(n) + R"(", "password": "not a password at all"})",
                           [&] { auto o = from("127.0.3." + std::to_string(10 + i)); o.timeout_s = 10; return o; }());
          answers += r.has_value();
        }
      });
    std::this_thread::sleep_for(8s);
    stop = true;
    for (auto& t : flood) t.join();
    return std::to_string(answers.load()) + " login answers in 8 s";
  });
  std::cout << results.dump(2) << "\n";
  return 0;
}
