// Shared helpers for the tests: where the real data and models are, temporary folders that
// clean up after themselves, and running the glassbox binary as a user would (with a time bound).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace glassbox::test {

std::filesystem::path data(const std::string& relative);  // under GLASSBOX_DATA

// A fresh folder under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;       // the process's exit status; -1 when killed by a signal
  int signal = 0;           // the signal that ended it, 0 if none
  bool timed_out = false;
  std::string out;
  std::string err;
};

using Environment = std::vector<std::pair<std::string, std::string>>;

// Runs the glassbox binary with `args`, killing it after `timeout_s`. `env` adds or replaces
// environment variables for the child only; `input` is its standard input (empty: none).
CommandResult run_glassbox(const std::vector<std::string>& args, double timeout_s = 120.0,
                           const std::filesystem::path& working_dir = {}, const Environment& env = {},
                           const std::string& input = {});

// Makes an account in the service's data folder (`glassbox user add`) and returns an API token
// for it (`glassbox user token`); empty on failure (the test then fails on its first request).
// With `database` (a PostgreSQL connection string), on that database, `data_dir` holding the
// node's keys.
std::string make_account(const std::filesystem::path& data_dir, const std::string& name, const std::vector<std::string>& roles,
                         const std::string& database = "");

// A program started in the background (a test's server), killed when this goes out of scope.
class BackgroundProcess {
 public:
  // Standard output and error go to the files named, or nowhere when empty.
  explicit BackgroundProcess(const std::vector<std::string>& argv, const std::string& stdout_file = {}, const std::string& stderr_file = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  bool started() const { return pid_ > 0; }
  int pid() const { return pid_; }
  // Sends `signal` and waits up to `timeout_s` for the exit; returns the exit status, or -1 if
  // it had to be killed or died of a signal.
  int stop(int signal, double timeout_s);

 private:
  int pid_ = -1;
};

// The UTC date `days` from today, as YYYY-MM-DD (expiry dates within the service's limits).
std::string date_in_days(int days);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// Waits until something accepts TCP connections on 127.0.0.1:port, or the timeout passes.
bool wait_for_port(int port, double timeout_s);

// Lists every regular file under `root`, recursively, sorted.
std::vector<std::filesystem::path> files_under(const std::filesystem::path& root);

// A file's whole content ("" when it cannot be read).
std::string read_file(const std::filesystem::path& file);

// Formats that outlive a process, pinned byte for byte: `actual` must equal tests/golden/`name`.
// With GLASSBOX_UPDATE_GOLDEN set, the file is written instead (then review the diff).
void expect_matches_golden(const std::string& actual, const std::string& name);

// The JSON lines of `text` that parse as objects (others are ignored).
std::vector<std::string> lines_of(const std::string& text);

// One Server-Sent Event of /api/events.
struct SseEvent {
  std::string id, type, data;
};
// Takes the complete events off the front of `buffer`, what a stream has sent so far; keep-alive
// comments are dropped, an incomplete event stays in the buffer.
std::vector<SseEvent> take_sse_events(std::string& buffer);

}  // namespace glassbox::test
