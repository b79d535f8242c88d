// See process_memory.h.
#include "core/process_memory.h"

#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace glassbox {

std::uint64_t resident_bytes(int pid) {
  // statm's second field: resident pages. One read, no parsing of the whole status file.
  std::ifstream statm(pid == 0 ? std::string("/proc/self/statm") : "/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t return_free_memory() {
  const std::uint64_t before = resident_bytes();
  malloc_trim(0);
  const std::uint64_t after = resident_bytes();
  return before > after ? before - after : 0;
}

}  // namespace glassbox
