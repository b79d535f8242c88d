// A process's resident memory (this one's, a child's), and giving memory the allocator keeps but does not use back to
// the system. Why: decoded frames are megabytes each, freed on other threads than the ones that
// made them; after a burst that filled the cameras' queues, glibc's per-thread arenas keep the
// freed blocks, so resident memory stays high long after the frames are gone (the two-hour soak
// saw 254 MiB held this way: docs/reliability.md, "The two-hour soak"). The service's
// maintenance thread returns it once a minute.
// Thread-safety: functions; safe from any thread (malloc_trim locks each arena in turn).
#pragma once

#include <cstdint>

namespace glassbox {

// Resident memory in bytes of this process, or of process `pid` (0: this one); 0 when /proc
// cannot be read (the process is gone).
std::uint64_t resident_bytes(int pid = 0);

// Gives free memory the allocator holds back to the system (glibc's malloc_trim); returns how
// much resident memory went down, in bytes (0 when nothing was given back, or it grew meanwhile).
std::uint64_t return_free_memory();

}  // namespace glassbox
