// Fuzz target for what a camera sends, read the two ways `serve` reads a camera: the analysis
// ingest (VideoSource: demuxing, decoding, the stream's timestamps made strictly increasing) and
// the recorder (SegmentRecorder: packets remuxed into fragmented-MP4 segments, cut at keyframes,
// each opened and closed in the index). A camera's transport (RTSP, HTTP) is FFmpeg's own; what
// arrives through it is these bytes, which the fuzzer gives as a file the way tests stand a file
// in for a camera.
// Invariants, not only "no crash": frame times strictly increase; every segment the recorder
// opened in the index is closed there, once, with an end no earlier than its start (the schema
// would refuse it otherwise) and the size its file has; the recorder finishes and stops; every
// segment it wrote is readable by media_duration. Built with libFuzzer under -DGLASSBOX_FUZZ=ON,
// and always as a replay of the shared corpus of broken videos in the test suite.
// Thread-safety: libFuzzer calls the target from one thread; each recorder runs one of its own.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "ingest/segment_recorder.h"
#include "ingest/video_source.h"

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "stream_fuzzer: %s\n", why.c_str());
  std::fflush(stderr);
  std::abort();
}

struct Segment {
  std::string path;
  std::int64_t start_ms = 0;
  bool closed = false;
  std::int64_t end_ms = 0;
  std::int64_t bytes = 0;
};

void read_as_the_analysis_does(const std::string& path) {
  auto source = glassbox::VideoSource::open(path, glassbox::SourceOptions{2.0, 2.0, 1});
  if (!source) return;
  double last = -1.0;
  for (int frames = 0; frames < 150; ++frames) {
    auto header = (*source)->grab();
    if (!header || !header->has_value()) break;
    if (!((*header)->timestamp_s > last)) fail("frame times went backwards: " + std::to_string(last) + " then " + std::to_string((*header)->timestamp_s));
    last = (*header)->timestamp_s;
    if (frames % 3 == 0) (void)(*source)->retrieve();
  }
}

void record_as_the_recorder_does(const std::string& path, const std::filesystem::path& folder) {
  std::mutex mutex;
  std::map<std::int64_t, Segment> index;
  std::int64_t next_id = 1;
  glassbox::SegmentIndex callbacks;
  callbacks.opened = [&](const std::string& segment, std::int64_t start_ms) -> glassbox::Result<std::int64_t> {
    std::lock_guard lock(mutex);
    index[next_id] = Segment{segment, start_ms};
    return next_id++;
  };
  callbacks.closed = [&](std::int64_t id, std::int64_t end_ms, std::int64_t bytes) {
    std::lock_guard lock(mutex);
    auto found = index.find(id);
    if (found == index.end()) fail("a segment closed that was never opened");
    if (found->second.closed) fail("a segment closed twice");
    found->second.closed = true;
    found->second.end_ms = end_ms;
    found->second.bytes = bytes;
  };
  glassbox::RecorderOptions options;
  options.directory = folder;
  options.segment_s = 0.5;  // short segments: many cuts at keyframes
  options.open_timeout_s = 2.0;
  options.read_timeout_s = 2.0;
  options.backoff.initial = std::chrono::milliseconds(60000);  // a failed read is not retried within the input
  glassbox::SegmentRecorder recorder("fuzz", path, options, callbacks);
  recorder.start();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!recorder.finished() && recorder.counters().errors == 0) {
    if (std::chrono::steady_clock::now() > give_up) fail("the recorder neither finished nor failed within 20 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  recorder.stop();
  for (const auto& [id, segment] : index) {
    if (!segment.closed) fail("segment " + segment.path + " was opened in the index and never closed");
    if (segment.end_ms < segment.start_ms) fail("segment " + segment.path + " ends before it starts");
    std::error_code ec;
    const auto size = std::filesystem::file_size(segment.path, ec);
    if (!ec && static_cast<std::int64_t>(size) != segment.bytes)
      fail("segment " + segment.path + " is " + std::to_string(size) + " bytes, the index says " + std::to_string(segment.bytes));
    if (!ec) (void)glassbox::media_duration(segment.path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  char folder_template[] = "/tmp/glassbox-stream-fuzz-XXXXXX";
  if (!mkdtemp(folder_template)) return 0;
  const std::filesystem::path folder = folder_template;
  const std::string path = (folder / "camera").string();
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
    std::fclose(f);
    if (written) {
      read_as_the_analysis_does(path);
      record_as_the_recorder_does(path, folder / "segments");
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
  return 0;
}
