#include "core/owner_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace glassbox {

Status sync_to_disk(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Error{path.string() + ": cannot open to sync: " + std::strerror(errno)};
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  if (!synced) return Error{path.string() + ": cannot sync to disk: " + std::strerror(sync_errno)};
  return ok_status();
}

Status write_owner_only(const std::filesystem::path& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error{path.string() + ": cannot create: " + std::strerror(errno)};
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return Error{path.string() + ": cannot write: " + why};
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    ::unlink(path.c_str());
    return Error{path.string() + ": cannot sync to disk"};
  }
  return ok_status();
}

Result<bool> create_owner_only_once(const std::filesystem::path& path, const std::string& content) {
  unsigned char random[8];
  randombytes_buf(random, sizeof random);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, random, sizeof random);
  const std::filesystem::path temporary = path.string() + ".new-" + hex;
  if (auto s = write_owner_only(temporary, content); !s) return s.error();
  const int linked = ::link(temporary.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temporary.c_str());
  if (linked == 0) {
    const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (auto synced = sync_to_disk(folder, true); !synced) return synced.error();
    return true;
  }
  if (link_errno == EEXIST) return false;
  return Error{path.string() + ": cannot put in place: " + std::strerror(link_errno)};
}

}  // namespace glassbox
