// Fuzz target for recordings: bytes from a camera's disk or an investigator's upload, read the
// way a search reads them (libavformat demuxing, libavcodec decoding of keyframes only and of
// every frame, conversion to BGR). Nothing may crash or write out of bounds: a bad file is an
// error value. Built with libFuzzer under -DGLASSBOX_FUZZ=ON, and always as a replay of the
// shared robustness corpus of broken videos in the test suite.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ingest/video_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // libavformat reads files; the input is written to one first.
  char path[] = "/tmp/glassbox-recording-fuzz-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return 0;
  const bool written = size == 0 || write(fd, data, size) == static_cast<ssize_t>(size);
  close(fd);
  if (written) {
    for (const bool keyframes : {true, false}) {
      glassbox::DecoderOptions options;
      options.keyframes_only = keyframes;
      auto reader = glassbox::VideoDecoder::open(path, options);
      if (!reader) continue;
      for (int frames = 0; frames < 200; ++frames) {
        auto t = (*reader)->next();
        if (!t || !t->has_value()) break;
        if (auto frame = (*reader)->frame()) {
          // What the frame path asks of a frame: the detector's scaled input and a region.
          cv::Mat scaled;
          if (frame->width() >= 2 && frame->height() >= 2) frame->scaled_bgr({std::max(1, frame->width() / 3), std::max(1, frame->height() / 3)}, scaled);
          (void)frame->region_bgr({frame->width() / 4, frame->height() / 4, frame->width() / 2 + 1, frame->height() / 2 + 1});
        }
      }
      if ((*reader)->info().duration_s > 1.0) (void)(*reader)->seek((*reader)->info().duration_s / 2);
      (void)(*reader)->next();
    }
  }
  std::filesystem::remove(path);
  return 0;
}
