// ConsoleAssets: the operators' console's built files (web/, docs/console.md), read once when
// `serve` starts and answered from memory at / and /assets/NAME. The folder is the setting
// `console_dir`, else $GLASSBOX_CONSOLE, else `console` next to the binary (where the build puts
// it); a binary built without Node.js serves the API alone and says so at /.
// Thread-safety: immutable after load(); find() may be called from any thread.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"

namespace glassbox {

class ConsoleAssets {
 public:
  struct Asset {
    std::string bytes;
    std::string content_type;
  };

  // Reads DIR/index.html and the files directly in DIR/assets (no deeper folders, no links), at
  // most 256 files and 32 MiB in all; an error names the file.
  static Result<ConsoleAssets> load(const std::filesystem::path& dir);
  // The folder to serve from: `configured` when given, else $GLASSBOX_CONSOLE, else `console`
  // beside the running binary; nullopt when none holds an index.html.
  static std::optional<std::filesystem::path> locate(const std::string& configured);

  // "index.html" or "assets/NAME".
  const Asset* find(const std::string& name) const;
  std::size_t size() const { return files_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::map<std::string, Asset> files_;
  std::size_t bytes_ = 0;
};

}  // namespace glassbox
