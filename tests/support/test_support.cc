#include "support/test_support.h"

#include "core/dates.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/paths.h"

extern char** environ;

namespace glassbox::test {

std::filesystem::path data(const std::string& relative) { return data_dir() / relative; }

TempDir::TempDir() {
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("glassbox-test-" + std::to_string(rd()));
    std::error_code ec;
    if (std::filesystem::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

// The parent's environment with `overrides` added or replaced.
std::vector<std::string> child_environment(const Environment& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : overrides) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::string& stdout_file, const std::string& stderr_file) {
  std::vector<std::string> args = argv;
  auto arg_pointers = pointers(args);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_file.empty() ? "/dev/null" : stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_file.empty() ? "/dev/null" : stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  if (posix_spawnp(&pid, arg_pointers[0], &actions, nullptr, arg_pointers.data(), environ) == 0) pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
}

int BackgroundProcess::stop(int signal, double timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    usleep(20 * 1000);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return -1;
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::string date_in_days(int days) { return format_date_utc(now_utc() + static_cast<UnixSeconds>(days) * 86400); }

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

bool wait_for_port(int port, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    close(fd);
    if (connected) return true;
    usleep(50 * 1000);
  }
  return false;
}

CommandResult run_glassbox(const std::vector<std::string>& args, double timeout_s,
                           const std::filesystem::path& working_dir, const Environment& env, const std::string& input) {
  CommandResult result;
  // Standard input: the given text, through a temporary file (no pipe to keep fed), or nothing.
  std::string input_file = "/dev/null";
  if (!input.empty()) {
    char name[] = "/tmp/glassbox-stdin-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) return result;
    const bool written = write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size());
    close(fd);
    if (!written) return result;
    input_file = name;
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return result;

  std::vector<std::string> argv_storage = {GLASSBOX_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  auto argv = pointers(argv_storage);
  auto env_storage = child_environment(env);
  auto envp = pointers(env_storage);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, input_file.c_str(), O_RDONLY, 0);
  if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!input.empty()) unlink(input_file.c_str());  // the child has it open already
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.err = "posix_spawn failed";
    return result;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000))) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

std::vector<std::filesystem::path> files_under(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string make_account(const std::filesystem::path& data_dir, const std::string& name, const std::vector<std::string>& roles,
                         const std::string& database) {
  std::vector<std::string> on = {"--data-dir", data_dir.string()};
  if (!database.empty()) on.insert(on.end(), {"--db", database});
  std::vector<std::string> args = {"user", "add", "--name", name};
  args.insert(args.end(), on.begin(), on.end());
  for (const auto& r : roles) {
    args.push_back("--role");
    args.push_back(r);
  }
  if (run_glassbox(args, 60, {}, {}, "a long test password for " + name + "\n").exit_code != 0) return {};
  std::vector<std::string> token_args = {"user", "token", "--name", name, "--label", "test"};
  token_args.insert(token_args.end(), on.begin(), on.end());
  auto token = run_glassbox(token_args, 60);
  if (token.exit_code != 0) return {};
  std::string t = token.out;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '{') lines.push_back(line);
  }
  return lines;
}

std::vector<SseEvent> take_sse_events(std::string& buffer) {
  std::vector<SseEvent> out;
  for (auto end = buffer.find("\n\n"); end != std::string::npos; end = buffer.find("\n\n")) {
    SseEvent e;
    std::istringstream lines(buffer.substr(0, end));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
      if (line.rfind("event: ", 0) == 0) e.type = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
    }
    buffer.erase(0, end + 2);
    if (!e.type.empty()) out.push_back(std::move(e));
  }
  return out;
}

void expect_matches_golden(const std::string& actual, const std::string& name) {
  const auto path = std::filesystem::path(GLASSBOX_SOURCE_DIR) / "tests" / "golden" / name;
  if (std::getenv("GLASSBOX_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing";
  EXPECT_EQ(actual, read_file(path)) << "differs from " << path;
}

}  // namespace glassbox::test
