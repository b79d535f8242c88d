#include "api/console_assets.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <system_error>
#include <unistd.h>

namespace glassbox {
namespace {

constexpr std::size_t kMaxFiles = 256;
constexpr std::size_t kMaxBytes = 32u << 20;

// Only the kinds a built page has; anything else in the folder is not served.
const char* content_type_of(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".json") return "application/json";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";  // the bundle's licence notices
  return nullptr;
}

Result<std::string> read_whole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{file.string() + ": cannot read"};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool has_index(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / "index.html", ec);
}

}  // namespace

std::optional<std::filesystem::path> ConsoleAssets::locate(const std::string& configured) {
  if (!configured.empty()) return std::filesystem::path(configured);
  if (const char* env = std::getenv("GLASSBOX_CONSOLE"); env != nullptr && *env != '\0') return std::filesystem::path(env);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && has_index(exe.parent_path() / "console")) return exe.parent_path() / "console";
  return std::nullopt;
}

Result<ConsoleAssets> ConsoleAssets::load(const std::filesystem::path& dir) {
  if (!has_index(dir)) return Error{dir.string() + ": no index.html (build the console: docs/console.md)"};
  ConsoleAssets assets;
  auto add = [&](const std::filesystem::path& file, const std::string& name) -> Status {
    const char* type = content_type_of(file);
    if (type == nullptr) return ok_status();
    if (assets.files_.size() >= kMaxFiles) return Error{dir.string() + ": more than " + std::to_string(kMaxFiles) + " files"};
    auto bytes = read_whole(file);
    if (!bytes) return bytes.error();
    assets.bytes_ += bytes->size();
    if (assets.bytes_ > kMaxBytes) return Error{dir.string() + ": more than 32 MiB of files"};
    assets.files_[name] = Asset{std::move(*bytes), type};
    return ok_status();
  };
  if (auto s = add(dir / "index.html", "index.html"); !s) return s.error();
  std::error_code ec;
  if (std::filesystem::is_directory(dir / "assets", ec)) {
    for (const auto& item : std::filesystem::directory_iterator(dir / "assets", ec)) {
      if (!item.is_regular_file() || item.is_symlink()) continue;
      if (auto s = add(item.path(), "assets/" + item.path().filename().string()); !s) return s.error();
    }
    if (ec) return Error{(dir / "assets").string() + ": " + ec.message()};
  }
  return assets;
}

const ConsoleAssets::Asset* ConsoleAssets::find(const std::string& name) const {
  const auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace glassbox
