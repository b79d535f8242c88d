// return_free_memory(): after a burst of decoded frames made on one thread and freed, the
// allocator keeps their memory resident; giving it back must lower resident memory by about
// what was freed (the two-hour soak's case, docs/reliability.md "The two-hour soak").
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/process_memory.h"

namespace glassbox {
namespace {

TEST(ProcessMemory, FramesFreedAfterABurstAreGivenBackToTheSystem) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator replaces glibc's arenas, which this is about";
#else
  constexpr std::size_t kFrame = 1920 * 1080 * 3;  // one decoded 1080p frame
  constexpr int kBurst = 40;                       // five frames for each of eight cameras
  constexpr std::uint64_t kMiB = 1024 * 1024;
  // A freed frame raises glibc's threshold for mapping blocks of their own, so later frames come
  // from the arenas, as in a running service.
  {
    auto* first = static_cast<unsigned char*>(std::malloc(kFrame));
    std::memset(first, 1, kFrame);
    asm volatile("" : : "r"(first) : "memory");  // so the compiler cannot drop the pair
    std::free(first);
  }
  std::vector<unsigned char*> frames;
  std::vector<void*> kept;  // small blocks that outlive the burst (packets, track state)
  std::thread decoder([&] {
    for (int i = 0; i < kBurst; ++i) {
      auto* frame = static_cast<unsigned char*>(std::malloc(kFrame));
      ASSERT_NE(frame, nullptr);
      std::memset(frame, static_cast<int>(i), kFrame);  // touched: resident
      frames.push_back(frame);
      kept.push_back(std::malloc(256));  // after each frame, in the same arena: the frames' holes cannot shrink it
    }
  });
  decoder.join();
  // The burst is analysed and freed, but for the newest frame, still in use; the small blocks
  // between the frames stay, so free() alone gives nothing back.
  for (int i = 0; i + 1 < kBurst; ++i) std::free(frames[static_cast<std::size_t>(i)]);
  const std::uint64_t held = resident_bytes();
  ASSERT_GT(held, 0u) << "cannot read /proc/self/statm";
  const std::uint64_t freed = (kBurst - 1) * kFrame;

  const std::uint64_t returned = return_free_memory();
  const std::uint64_t after = resident_bytes();
  EXPECT_GT(returned, freed / 2) << "held " << held / kMiB << " MiB, returned " << returned / kMiB << " MiB of " << freed / kMiB << " freed";
  EXPECT_LT(after, held - freed / 2);
  EXPECT_EQ(frames.back()[kFrame - 1], static_cast<unsigned char>(kBurst - 1)) << "the frame in use is intact";
  std::free(frames.back());
  for (void* block : kept) std::free(block);
#endif
}

}  // namespace
}  // namespace glassbox
