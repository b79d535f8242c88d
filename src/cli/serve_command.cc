// `glassbox serve`: the live service until SIGINT/SIGTERM, then a clean shutdown.
#include <sys/resource.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <thread>

#include "api/live_service.h"
#include "cli/commands.h"

namespace glassbox::cli {
namespace {

struct ServeArgs {
  std::string data_dir;
  std::string listen = "127.0.0.1:8080";
  std::string config;
  std::string db;
  bool behind_tls_proxy = false;
};

// Connections, recordings, cameras and SQLite all need descriptors: use what the system allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 65536);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

Result<ListenAddress> parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  int port = -1;
  try {
    if (colon != std::string::npos) port = std::stoi(text.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535)
    return Error{"must be HOST:PORT (PORT 0 picks a free one), not '" + text + "'"};
  return ListenAddress{text.substr(0, colon), port};
}

namespace {

int run_serve(const ServeArgs& args) {
  auto address = parse_listen_address(args.listen);
  if (!address) {
    std::cerr << "glassbox serve: --listen: " << address.error().message << "\n";
    return kExitFailure;
  }
  const std::string& host = address->host;
  const int port = address->port;
  ServiceConfig config;
  if (!args.config.empty()) {
    auto loaded = load_service_config(args.config);
    if (!loaded) {
      std::cerr << "glassbox serve: " << loaded.error().message << "\n";
      return kExitFailure;
    }
    config = *loaded;
  }
  if (!args.db.empty()) config.database = args.db;
  if (args.behind_tls_proxy) {
    config.behind_tls_proxy = true;
    if (config.trusted_proxies.empty()) config.trusted_proxies = {"127.0.0.1", "::1"};
  }
  raise_descriptor_limit();
  auto service = LiveService::create(args.data_dir, config);
  if (!service) {
    std::cerr << "glassbox serve: " << service.error().message << "\n";
    return kExitFailure;
  }
  if (auto s = (*service)->start(host, port); !s) {
    std::cerr << "glassbox serve: " << s.error().message << "\n";
    return kExitFailure;
  }
  // One line on stdout once ready, so scripts and tests know where to connect.
  std::cout << "listening on " << ((*service)->tls() ? "https://" : "http://") << host << ":" << (*service)->port() << " with "
            << config.cameras.size() << " cameras" << std::endl;
  while (!interrupted().load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cerr << "glassbox serve: stopping: finishing frames in analysis\n";
  (*service)->stop();
  std::cerr << "glassbox serve: stopped\n";
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_status) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Watch cameras continuously; alerts for review through the HTTP API");
  serve->add_option("--data-dir", args->data_dir, "Folder for the database (glassbox.db): watchlist, alerts, evidence")->required();
  serve->add_option("--listen", args->listen, "HOST:PORT of the HTTP API")->capture_default_str();
  serve->add_option("--config", args->config, "Configuration file (JSON): profile, workers, retention, cameras, TLS");
  serve->add_option("--db", args->db,
                    "PostgreSQL connection string (postgresql://… or 'host=… dbname=…') of the database a cluster's nodes share, "
                    "instead of DATA_DIR/glassbox.db; the node's keys stay in DATA_DIR (docs/cluster.md)");
  serve->add_flag("--behind-tls-proxy", args->behind_tls_proxy,
                  "A reverse proxy (deploy/nginx) terminates TLS in front: allows a non-loopback --listen in plain HTTP, "
                  "trusts X-Forwarded-For from loopback");
  serve->callback([args, &exit_status] { exit_status = run_serve(*args); });
}

}  // namespace glassbox::cli
