// Files only their owner may read, created without touching the process-wide umask (which
// other threads share): open(O_CREAT | O_EXCL, 0600). For keys and anything as secret.
// Thread-safety: functions; safe to call from several threads and processes at once.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace glassbox {

// Writes `content` to a new file at `path`, mode 0600, synced; an error if it exists.
Status write_owner_only(const std::filesystem::path& path, const std::string& content);

// Creates `path` holding `content` (mode 0600) unless it exists: the content is written to a
// unique temporary file first and linked into place, so a concurrent creator either wins whole
// or finds the winner's file. Returns true if this call created it, false if it was there.
Result<bool> create_owner_only_once(const std::filesystem::path& path, const std::string& content);

}  // namespace glassbox
