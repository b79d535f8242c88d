// SegmentRecorder: records one camera to disk as MP4 segments, remuxed through libavformat (the
// camera's own compressed video, never re-encoded), on its own thread and its own connection to
// the camera. A segment is cut at the first keyframe after `segment_s`, so each one starts with a
// keyframe and decodes alone; segments are fragmented MP4, readable up to the last fragment if
// the process dies mid-segment. The index (database) is told when a segment opens and closes.
// Reconnects with the same backoff as the analysis ingest; every reconnect, segment and byte is
// counted. A file URL stands in for a camera in tests: it is played at its own speed, looped
// when asked. Docs: docs/search.md, "Recording".
// Thread-safety: start()/stop() from the owning thread; counters may be read from any thread;
// the index callbacks are called from the recorder's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <mutex>
#include <thread>

#include "core/result.h"
#include "ingest/backoff.h"

namespace glassbox {

struct RecorderOptions {
  std::filesystem::path directory;  // this camera's folder; created when missing
  double segment_s = 60.0;
  double open_timeout_s = 10.0;
  double read_timeout_s = 10.0;
  bool loop = false;       // files: start again at the end
  bool realtime = false;   // files: play at the file's own speed, as a camera would send it
  BackoffPolicy backoff;
  // Asked before each new segment: false (free space below the floor) skips recording until
  // it says true again; the skipped time is counted.
  std::function<bool()> may_write;
};

struct SegmentIndex {
  // A segment was opened at `path`, its first packet arriving at `start_ms` (Unix ms). Returns
  // the index row's id; an error keeps the segment from being written.
  std::function<Result<std::int64_t>(const std::string& path, std::int64_t start_ms)> opened;
  // The segment is complete: its media ends at `end_ms`; `bytes` were written. After a write
  // that failed (a full disk, an I/O error), `end_ms` is where what reached the disk ends.
  std::function<void(std::int64_t id, std::int64_t end_ms, std::int64_t bytes)> closed;
  // A write failed before any frame of the segment reached the disk: its file is deleted and
  // its row is to go.
  std::function<void(std::int64_t id)> discarded;
};

struct RecorderCounters {
  std::atomic<std::uint64_t> segments{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> errors{0};  // opens, reads or writes that failed
  std::atomic<std::uint64_t> skipped_low_disk{0};  // segments not started: free space below the floor
  std::atomic<bool> connected{false};
};

class SegmentRecorder {
 public:
  SegmentRecorder(std::string camera, std::string url, RecorderOptions options, SegmentIndex index);
  ~SegmentRecorder();
  SegmentRecorder(const SegmentRecorder&) = delete;
  SegmentRecorder& operator=(const SegmentRecorder&) = delete;

  void start();
  // Closes the segment being written (so it is complete and indexed) and ends the thread.
  void stop();
  const RecorderCounters& counters() const { return counters_; }
  // A file (not looped) was played to its end and the thread has nothing more to do.
  bool finished() const { return finished_; }
  const std::string& camera() const { return camera_; }
  // The last problem seen, for logs and /metrics.
  std::string last_error() const;

 private:
  void run();
  // One connection: reads packets and writes segments until the input ends or fails.
  Status record_once();

  std::string camera_;
  std::string url_;
  RecorderOptions options_;
  SegmentIndex index_;
  RecorderCounters counters_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

// The media duration of a recorded file, read from its packets (works on a segment cut short by
// a crash or a failed write: a packet whose bytes did not all reach the file is not counted); 0
// when it holds no whole video packet. Opened as an untrusted file (libav_input.h).
Result<double> media_duration(const std::string& path);

}  // namespace glassbox
