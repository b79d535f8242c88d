#include "support/postgres_server.h"

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "store/postgres_database.h"
#include "support/test_support.h"

namespace glassbox::test {
namespace {

namespace fs = std::filesystem;

// The newest installed PostgreSQL's programs.
fs::path find_bin() {
  if (const char* env = std::getenv("GLASSBOX_PG_BIN"); env != nullptr && *env != '\0') return env;
  std::vector<std::pair<int, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const fs::path bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl")) continue;
    found.emplace_back(std::atoi(entry.path().filename().c_str()), bin);
  }
  if (found.empty()) return {};
  return std::max_element(found.begin(), found.end())->second;
}

std::string tail_of(const fs::path& log) {
  const std::string text = read_file(log);
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

std::unique_ptr<PostgresServer> PostgresServer::make_folder(std::string& why) {
  const fs::path bin = find_bin();
  if (bin.empty()) {
    why = "no PostgreSQL server programs under /usr/lib/postgresql (install postgresql-15: scripts/install-deps.sh)";
    return nullptr;
  }
  // Under /tmp, not $TMPDIR: a Unix socket's path must stay under 108 bytes.
  char pattern[] = "/tmp/glassbox-pg-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    why = "cannot make a folder under /tmp";
    return nullptr;
  }
  const fs::path folder = pattern;
  std::string run_as;
  if (geteuid() == 0) {
    const passwd* postgres = getpwnam("postgres");
    if (postgres == nullptr || chown(folder.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
      why = "running as root, and the postgres user (made by Debian's postgresql package) cannot own " + folder.string();
      fs::remove_all(folder);
      return nullptr;
    }
    run_as = "runuser -u postgres -- ";
  }
  return std::unique_ptr<PostgresServer>(new PostgresServer(folder, bin, run_as));
}

std::unique_ptr<PostgresServer> PostgresServer::start_replica(std::string& why) const {
  auto replica = make_folder(why);
  if (!replica) return nullptr;
  const fs::path folder = replica->folder_;
  // -R: standby.signal and primary_conninfo (this server's socket), so it starts as a standby.
  const std::string backup = run_as_ + (bin_ / "pg_basebackup").string() + " -h " + folder_.string() + " -U glassbox -D " +
                             (folder / "data").string() + " -R -X stream -c fast > " + (folder / "basebackup.log").string() + " 2>&1";
  if (std::system(backup.c_str()) != 0) {
    why = "pg_basebackup failed:\n" + tail_of(folder / "basebackup.log");
    return nullptr;
  }
  if (!replica->start_again(why)) return nullptr;
  return replica;
}

bool PostgresServer::promote(std::string& why) {
  const std::string promote = run_as_ + (bin_ / "pg_ctl").string() + " -D " + (folder_ / "data").string() + " -w -t 60 promote > " +
                              (folder_ / "promote.log").string() + " 2>&1";
  if (std::system(promote.c_str()) != 0) {
    why = "pg_ctl promote failed:\n" + tail_of(folder_ / "promote.log") + tail_of(folder_ / "server.log");
    return false;
  }
  return true;
}

std::unique_ptr<PostgresServer> PostgresServer::start(std::string& why) {
  auto server = make_folder(why);
  if (!server) return nullptr;
  const fs::path folder = server->folder_, bin = server->bin_;
  const std::string run_as = server->run_as_;
  const std::string data = (folder / "data").string();
  const std::string initdb = run_as + (bin / "initdb").string() + " -D " + data +
                             " -U glassbox -A trust -E UTF8 --locale=C --no-sync > " + (folder / "initdb.log").string() + " 2>&1";
  if (std::system(initdb.c_str()) != 0) {
    why = "initdb failed:\n" + tail_of(folder / "initdb.log");
    return nullptr;
  }
  if (!server->start_again(why)) return nullptr;
  return server;
}

bool PostgresServer::start_again(std::string& why) {
  const std::string options = "-c listen_addresses='' -c unix_socket_directories='" + folder_.string() +
                              "' -c fsync=off -c full_page_writes=off -c max_connections=100";
  const std::string start = run_as_ + (bin_ / "pg_ctl").string() + " -D " + (folder_ / "data").string() + " -l " +
                            (folder_ / "server.log").string() + " -w -t 60 -o \"" + options + "\" start > " +
                            (folder_ / "pg_ctl.log").string() + " 2>&1";
  if (std::system(start.c_str()) != 0) {
    why = "the server did not start:\n" + tail_of(folder_ / "server.log") + tail_of(folder_ / "pg_ctl.log");
    return false;
  }
  return true;
}

bool PostgresServer::stop_now() {
  const std::string stop = run_as_ + (bin_ / "pg_ctl").string() + " -D " + (folder_ / "data").string() + " -m immediate -w stop > /dev/null 2>&1";
  return std::system(stop.c_str()) == 0;
}

PostgresServer::~PostgresServer() {
  if (pgbouncer_) {
    const std::string pid = read_file(folder_ / "pgbouncer.pid");
    if (!pid.empty()) ::kill(static_cast<pid_t>(std::atol(pid.c_str())), SIGTERM);
  }
  if (fs::exists(folder_ / "data" / "postmaster.pid")) {
    const std::string stop = run_as_ + (bin_ / "pg_ctl").string() + " -D " + (folder_ / "data").string() + " -m immediate -w stop > /dev/null 2>&1";
    (void)std::system(stop.c_str());
  }
  std::error_code ec;
  fs::remove_all(folder_, ec);
}

std::string PostgresServer::conninfo(const std::string& name) const {
  return "host=" + folder_.string() + " user=glassbox dbname=" + name;
}

// PgBouncer listens on its own port number's socket name (.s.PGSQL.6432) beside the server's.
constexpr int kPgbouncerPort = 6432;

bool PostgresServer::start_pgbouncer(std::string& why) {
  if (pgbouncer_) return true;
  const fs::path program = "/usr/sbin/pgbouncer";
  if (!fs::exists(program)) {
    why = "no /usr/sbin/pgbouncer (install pgbouncer: scripts/install-deps.sh)";
    return false;
  }
  const fs::path ini = folder_ / "pgbouncer.ini", users = folder_ / "pgbouncer-users.txt", log = folder_ / "pgbouncer.log";
  std::ofstream(users) << "\"glassbox\" \"\"\n";
  std::ofstream(ini) << "[databases]\n"
                     << "* = host=" << folder_.string() << " user=glassbox\n"
                     << "[pgbouncer]\n"
                     << "listen_addr =\n"
                     << "unix_socket_dir = " << folder_.string() << "\n"
                     << "listen_port = " << kPgbouncerPort << "\n"
                     << "auth_type = trust\n"
                     << "auth_file = " << users.string() << "\n"
                     << "pool_mode = transaction\n"
                     << "max_client_conn = 400\n"
                     << "default_pool_size = 8\n"
                     // Every test makes a database of its own, each with its own pool: idle
                     // server connections go soon, so they never add up to max_connections.
                     << "server_idle_timeout = 2\n"
                     << "logfile = " << log.string() << "\n"
                     << "pidfile = " << (folder_ / "pgbouncer.pid").string() << "\n";
  // It refuses to run as root; the folder is the postgres user's already.
  if (!run_as_.empty()) {
    const passwd* postgres = getpwnam("postgres");
    for (const fs::path& file : {ini, users})
      if (postgres == nullptr || chown(file.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
        why = "cannot give " + file.string() + " to the postgres user";
        return false;
      }
  }
  const std::string start = run_as_ + program.string() + " -d " + ini.string() + " > " + (folder_ / "pgbouncer-start.log").string() + " 2>&1";
  if (std::system(start.c_str()) != 0) {
    why = "pgbouncer did not start:\n" + tail_of(folder_ / "pgbouncer-start.log") + tail_of(log);
    return false;
  }
  pgbouncer_ = true;
  // Up when it answers a query through the pool.
  for (int i = 0; i < 100; ++i) {
    auto db = PostgresDatabase::connect(pooled_conninfo());
    if (db && (*db)->execute("SELECT 1")) return true;
    ::usleep(50'000);
  }
  why = "pgbouncer does not answer:\n" + tail_of(log);
  return false;
}

std::string PostgresServer::pooled_conninfo(const std::string& name) const {
  return "host=" + folder_.string() + " port=" + std::to_string(kPgbouncerPort) + " user=glassbox dbname=" + name;
}

bool PostgresServer::create_database(const std::string& name, std::string& why) const {
  auto db = PostgresDatabase::connect(conninfo());
  if (!db) {
    why = db.error().message;
    return false;
  }
  if (auto s = (*db)->execute("CREATE DATABASE \"" + name + "\""); !s) {
    why = s.error().message;
    return false;
  }
  return true;
}

}  // namespace glassbox::test
