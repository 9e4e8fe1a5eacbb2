// Counts heap allocations on the spawn path. A separate executable: it replaces the global
// operator new for the whole process.

#include "test_support.hpp"
#include <loopscope/detail/frame_allocator.hpp>
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::uint64_t> g_news{0};
}  // namespace

// Counting replacements of the global allocation functions. GCC takes the free() in a
// replaced operator delete for a mismatched deallocation of what operator new returned.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t /*size*/) noexcept {
  std::free(p);
}

namespace loopscope {
namespace {

Task<std::uint64_t> returns(std::uint64_t i) {
  co_return i;
}

Task<std::uint64_t> spawn_and_await(std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += co_await spawn(returns(i));
  }
  co_return sum;
}

struct Counts {
  std::uint64_t news;
  std::uint64_t frames;
};

Task<Counts> count_spawns(std::uint64_t n) {
  co_await spawn_and_await(100);  // warm the frame pool
  const std::uint64_t news_before = g_news.load();
  const std::uint64_t frames_before = detail::frame_stats().allocations;
  const std::uint64_t sum = co_await spawn_and_await(n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
  co_return Counts{g_news.load() - news_before, detail::frame_stats().allocations - frames_before};
}

TEST(Allocation, ASpawnedTaskCostsOneFrameAndNothingElse) {
  constexpr std::uint64_t kTasks = 1000;
  const Counts counts = testing::run_manual(count_spawns(kTasks));
  EXPECT_EQ(counts.news, 0u);  // frames come from the pool; no other allocation at all
  // One frame per spawned task, plus the frame of spawn_and_await itself.
  EXPECT_EQ(counts.frames, kTasks + 1);
}

}  // namespace
}  // namespace loopscope
