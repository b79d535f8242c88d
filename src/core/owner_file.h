// Files only their owner may read, created without touching the process-wide umask (which
// other threads share): open(O_CREAT | O_EXCL, 0600). For keys and anything as secret.
// Thread-safety: functions; safe to call from several threads and processes at once.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace glassbox {

// Syncs a file, or a folder's entries (`directory`), to the disk.
Status sync_to_disk(const std::filesystem::path& path, bool directory = false);

// Writes `content` to a new file at `path`, mode 0600, synced; an error if it exists.
Status write_owner_only(const std::filesystem::path& path, const std::string& content);

// Creates `path` holding `content` (mode 0600) unless it exists: the content is written to a
// unique temporary file first and linked into place, so a concurrent creator either wins whole
// or finds the winner's file. The folder is synced too, so a key in it survives a power loss as
// surely as what it sealed or signed. Returns true if this call created it, false if it was there.
Result<bool> create_owner_only_once(const std::filesystem::path& path, const std::string& content);

}  // namespace glassbox
