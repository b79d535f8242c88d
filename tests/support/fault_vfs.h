// FaultVfs: an SQLite VFS for tests that sits over the real one ("unix") and injects the faults a
// disk gives: an I/O error on the Nth write or sync, a full disk, or a power loss. While it is
// installed it is SQLite's default VFS, so the stores under test open their files through it
// unchanged (docs/reliability.md).
//   - Operations: every xWrite, xSync and xTruncate on a database or WAL file is counted, from 1,
//     across all connections; the fault fires on the one numbered `at`.
//   - Power loss: each database and WAL file's content as of its last xSync is kept in memory
//     (its "durable image"). From the fault on, nothing more reaches the disk and every write,
//     sync, truncate and delete fails. Once the connections are closed, lose_unsynced_writes()
//     puts every file back to its durable image (a file never synced is deleted) and removes the
//     -shm files (SQLite rebuilds them): what a machine would find after its power went.
// Thread-safety: one instance at a time per process; its counters are guarded, so connections on
// several threads may use it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

struct sqlite3_vfs;

namespace glassbox::test {

enum class FileOp { kWrite, kSync, kTruncate };

class FaultVfs {
 public:
  // Registers itself as the default VFS; the destructor restores the real one.
  FaultVfs();
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // Operation `at` fails with an I/O error; every other succeeds.
  void fail_once(std::int64_t at);
  // The next sync fails with an I/O error (once).
  void fail_next_sync();
  // From operation `at` on, writes that would grow a file fail with SQLITE_FULL (a write into
  // space the file already has succeeds, as on a full disk), until clear() is called.
  void fill_disk(std::int64_t at);
  // From operation `at` on, the machine is off: see the header comment.
  void lose_power(std::int64_t at);
  // No fault from now on (after a power loss: only once lose_unsynced_writes() has run).
  void clear();
  // Operations counted since construction (or the last reset_count()).
  std::int64_t operations() const;
  void reset_count();
  // How many operations the fault has failed.
  std::int64_t failures() const;
  // After lose_power() and once every connection is closed: the files as the power left them.
  // Returns how many files were put back or removed.
  int lose_unsynced_writes();

  // For the VFS's callbacks (fault_vfs.cc).
  struct Decision {
    bool fail = false;
    int error = 0;  // the SQLite result code to return
  };
  Decision before(FileOp op, const std::string& path, std::int64_t offset, std::int64_t amount, std::int64_t file_size);
  bool powered_off() const;
  void opened(const std::string& path, bool existed);
  void synced(const std::string& path);
  void deleted(const std::string& path);
  sqlite3_vfs* real() const { return real_; }

 private:
  enum class Mode { kNone, kFailOnce, kFailNextSync, kDiskFull, kPowerLoss };
  mutable std::mutex mutex_;
  Mode mode_ = Mode::kNone;
  std::int64_t at_ = 0;
  std::int64_t count_ = 0;
  std::int64_t failures_ = 0;
  bool off_ = false;
  // Path → content as of its last sync; absent for a file created and never synced.
  std::map<std::string, std::string> durable_;
  std::map<std::string, bool> tracked_;  // every database and WAL file seen
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs* self_ = nullptr;
};

}  // namespace glassbox::test
