#include "support/fault_vfs.h"

#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <stdexcept>

namespace glassbox::test {
namespace {

FaultVfs* g_active = nullptr;

// A file opened through the FaultVfs: its own header, then the real VFS's file object.
struct FaultFile {
  sqlite3_file base;
  std::string* path;  // owned; null for files that are not counted (temporary files, -shm)
  sqlite3_file* real;
};

constexpr std::size_t kHeaderSize = (sizeof(FaultFile) + 15) / 16 * 16;

FaultFile* as_fault(sqlite3_file* file) { return reinterpret_cast<FaultFile*>(file); }
sqlite3_file* real_of(sqlite3_file* file) { return as_fault(file)->real; }

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int file_size(sqlite3_file* real, sqlite3_int64& size) { return real->pMethods->xFileSize(real, &size); }

int fault_close(sqlite3_file* file) {
  FaultFile* f = as_fault(file);
  const int rc = f->real->pMethods->xClose(f->real);
  delete f->path;
  f->path = nullptr;
  return rc;
}

int fault_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return real_of(file)->pMethods->xRead(real_of(file), buffer, amount, offset);
}

int fault_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  FaultFile* f = as_fault(file);
  if (f->path != nullptr) {
    sqlite3_int64 size = 0;
    if (int rc = file_size(f->real, size); rc != SQLITE_OK) return rc;
    const auto decision = g_active->before(FileOp::kWrite, *f->path, offset, amount, size);
    if (decision.fail) return decision.error;
  }
  return f->real->pMethods->xWrite(f->real, buffer, amount, offset);
}

int fault_truncate(sqlite3_file* file, sqlite3_int64 size) {
  FaultFile* f = as_fault(file);
  if (f->path != nullptr) {
    sqlite3_int64 current = 0;
    if (int rc = file_size(f->real, current); rc != SQLITE_OK) return rc;
    const auto decision = g_active->before(FileOp::kTruncate, *f->path, size, 0, current);
    if (decision.fail) return decision.error;
  }
  return f->real->pMethods->xTruncate(f->real, size);
}

int fault_sync(sqlite3_file* file, int flags) {
  FaultFile* f = as_fault(file);
  if (f->path != nullptr) {
    const auto decision = g_active->before(FileOp::kSync, *f->path, 0, 0, 0);
    if (decision.fail) return decision.error;
  }
  const int rc = f->real->pMethods->xSync(f->real, flags);
  if (rc == SQLITE_OK && f->path != nullptr) g_active->synced(*f->path);
  return rc;
}

int fault_file_size(sqlite3_file* file, sqlite3_int64* size) { return real_of(file)->pMethods->xFileSize(real_of(file), size); }
int fault_lock(sqlite3_file* file, int level) { return real_of(file)->pMethods->xLock(real_of(file), level); }
int fault_unlock(sqlite3_file* file, int level) { return real_of(file)->pMethods->xUnlock(real_of(file), level); }
int fault_check_reserved(sqlite3_file* file, int* out) { return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out); }
int fault_file_control(sqlite3_file* file, int op, void* arg) { return real_of(file)->pMethods->xFileControl(real_of(file), op, arg); }
int fault_sector_size(sqlite3_file* file) { return real_of(file)->pMethods->xSectorSize(real_of(file)); }
int fault_device(sqlite3_file* file) { return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file)); }
int fault_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return real_of(file)->pMethods->xShmMap(real_of(file), region, size, extend, out);
}
int fault_shm_lock(sqlite3_file* file, int offset, int n, int flags) { return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags); }
void fault_shm_barrier(sqlite3_file* file) { real_of(file)->pMethods->xShmBarrier(real_of(file)); }
int fault_shm_unmap(sqlite3_file* file, int delete_flag) { return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag); }
// No memory-mapped reads: every byte SQLite reads goes through xRead (a mapping would show it
// pages that the power loss is about to take back).
int fault_fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int fault_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kMethods = {
    3,
    fault_close,
    fault_read,
    fault_write,
    fault_truncate,
    fault_sync,
    fault_file_size,
    fault_lock,
    fault_unlock,
    fault_check_reserved,
    fault_file_control,
    fault_sector_size,
    fault_device,
    fault_shm_map,
    fault_shm_lock,
    fault_shm_barrier,
    fault_shm_unmap,
    fault_fetch,
    fault_unfetch,
};

bool counted(int flags) { return (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0; }

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  FaultFile* f = as_fault(file);
  f->base.pMethods = nullptr;
  f->path = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeaderSize);
  sqlite3_vfs* real = g_active->real();
  std::error_code ec;
  const bool track = name != nullptr && counted(flags);
  const bool existed = track && std::filesystem::exists(name, ec);
  const int rc = real->xOpen(real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (f->real->pMethods == nullptr || f->real->pMethods->iVersion < 3)
    throw std::logic_error("FaultVfs needs the real VFS's files to be version 3");
  if (track) {
    f->path = new std::string(name);
    g_active->opened(*f->path, existed);
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (g_active->powered_off()) return SQLITE_IOERR_DELETE;
  const int rc = g_active->real()->xDelete(g_active->real(), name, sync_dir);
  if (rc == SQLITE_OK) g_active->deleted(name);
  return rc;
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_active->real()->xAccess(g_active->real(), name, flags, out); }
int vfs_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_active->real()->xFullPathname(g_active->real(), name, n, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) { return g_active->real()->xDlOpen(g_active->real(), name); }
void vfs_dl_error(sqlite3_vfs*, int n, char* out) { g_active->real()->xDlError(g_active->real(), n, out); }
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) { return g_active->real()->xDlSym(g_active->real(), handle, symbol); }
void vfs_dl_close(sqlite3_vfs*, void* handle) { g_active->real()->xDlClose(g_active->real(), handle); }
int vfs_randomness(sqlite3_vfs*, int n, char* out) { return g_active->real()->xRandomness(g_active->real(), n, out); }
int vfs_sleep(sqlite3_vfs*, int microseconds) { return g_active->real()->xSleep(g_active->real(), microseconds); }
int vfs_current_time(sqlite3_vfs*, double* out) { return g_active->real()->xCurrentTime(g_active->real(), out); }
int vfs_last_error(sqlite3_vfs*, int n, char* out) { return g_active->real()->xGetLastError(g_active->real(), n, out); }
int vfs_current_time64(sqlite3_vfs*, sqlite3_int64* out) { return g_active->real()->xCurrentTimeInt64(g_active->real(), out); }

int io_error_for(FileOp op) {
  switch (op) {
    case FileOp::kWrite: return SQLITE_IOERR_WRITE;
    case FileOp::kSync: return SQLITE_IOERR_FSYNC;
    case FileOp::kTruncate: return SQLITE_IOERR_TRUNCATE;
  }
  return SQLITE_IOERR;
}

}  // namespace

FaultVfs::FaultVfs() {
  if (g_active != nullptr) throw std::logic_error("only one FaultVfs at a time");
  real_ = sqlite3_vfs_find(nullptr);
  if (real_ == nullptr || real_->iVersion < 2) throw std::logic_error("no default SQLite VFS to wrap");
  g_active = this;
  self_ = new sqlite3_vfs{};
  self_->iVersion = 2;
  self_->szOsFile = static_cast<int>(kHeaderSize) + real_->szOsFile;
  self_->mxPathname = real_->mxPathname;
  self_->zName = "glassbox-fault";
  self_->xOpen = vfs_open;
  self_->xDelete = vfs_delete;
  self_->xAccess = vfs_access;
  self_->xFullPathname = vfs_full_pathname;
  self_->xDlOpen = vfs_dl_open;
  self_->xDlError = vfs_dl_error;
  self_->xDlSym = vfs_dl_sym;
  self_->xDlClose = vfs_dl_close;
  self_->xRandomness = vfs_randomness;
  self_->xSleep = vfs_sleep;
  self_->xCurrentTime = vfs_current_time;
  self_->xGetLastError = vfs_last_error;
  self_->xCurrentTimeInt64 = vfs_current_time64;
  if (sqlite3_vfs_register(self_, 1) != SQLITE_OK) throw std::runtime_error("cannot register the fault-injecting VFS");
}

FaultVfs::~FaultVfs() {
  sqlite3_vfs_unregister(self_);
  sqlite3_vfs_register(real_, 1);
  delete self_;
  g_active = nullptr;
}

void FaultVfs::fail_once(std::int64_t at) {
  std::lock_guard lock(mutex_);
  mode_ = Mode::kFailOnce;
  at_ = at;
}

void FaultVfs::fail_next_sync() {
  std::lock_guard lock(mutex_);
  mode_ = Mode::kFailNextSync;
}

void FaultVfs::fill_disk(std::int64_t at) {
  std::lock_guard lock(mutex_);
  mode_ = Mode::kDiskFull;
  at_ = at;
}

void FaultVfs::lose_power(std::int64_t at) {
  std::lock_guard lock(mutex_);
  mode_ = Mode::kPowerLoss;
  at_ = at;
}

void FaultVfs::clear() {
  std::lock_guard lock(mutex_);
  mode_ = Mode::kNone;
  off_ = false;
}

std::int64_t FaultVfs::operations() const {
  std::lock_guard lock(mutex_);
  return count_;
}

void FaultVfs::reset_count() {
  std::lock_guard lock(mutex_);
  count_ = 0;
  failures_ = 0;
}

std::int64_t FaultVfs::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool FaultVfs::powered_off() const {
  std::lock_guard lock(mutex_);
  return off_;
}

FaultVfs::Decision FaultVfs::before(FileOp op, const std::string&, std::int64_t offset, std::int64_t amount, std::int64_t size) {
  std::lock_guard lock(mutex_);
  const std::int64_t n = ++count_;
  Decision d;
  switch (mode_) {
    case Mode::kNone: break;
    case Mode::kFailOnce: d.fail = n == at_; break;
    case Mode::kFailNextSync:
      d.fail = op == FileOp::kSync;
      if (d.fail) mode_ = Mode::kNone;
      break;
    case Mode::kDiskFull: d.fail = n >= at_ && op == FileOp::kWrite && offset + amount > size; break;
    case Mode::kPowerLoss:
      if (n >= at_) off_ = true;
      d.fail = off_;
      break;
  }
  if (d.fail) {
    ++failures_;
    d.error = mode_ == Mode::kDiskFull ? SQLITE_FULL : io_error_for(op);
  }
  return d;
}

void FaultVfs::opened(const std::string& path, bool existed) {
  std::lock_guard lock(mutex_);
  if (tracked_.count(path) != 0) return;
  tracked_[path] = true;
  // What was on the disk before this process opened it has been there all along.
  if (existed) durable_[path] = read_whole(path);
}

void FaultVfs::deleted(const std::string& path) {
  std::lock_guard lock(mutex_);
  tracked_.erase(path);
  durable_.erase(path);
}

void FaultVfs::synced(const std::string& path) {
  std::lock_guard lock(mutex_);
  durable_[path] = read_whole(path);
}

int FaultVfs::lose_unsynced_writes() {
  std::lock_guard lock(mutex_);
  int changed = 0;
  std::error_code ec;
  for (const auto& [path, _] : tracked_) {
    if (auto kept = durable_.find(path); kept != durable_.end()) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << kept->second;
      if (!out) throw std::runtime_error(path + ": cannot put back its durable image");
      ++changed;
    } else if (std::filesystem::remove(path, ec)) {
      ++changed;
    }
    std::filesystem::remove(path + "-shm", ec);
  }
  tracked_.clear();
  durable_.clear();
  return changed;
}

}  // namespace glassbox::test
