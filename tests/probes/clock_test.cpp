#include <loopscope/probes/clock.hpp>

#include <gtest/gtest.h>

namespace loopscope::probes {
namespace {

TEST(ProbeClock, TicksNeverGoBackwardsOnOneThread) {
  const TickSource source = tick_source();
  std::uint64_t last = read_ticks(source);
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t now = read_ticks(source);
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(ProbeClock, SyncPointsAdvanceTogether) {
  const TickSource source = tick_source();
  const ClockSync a = sync_point(source);
  const ClockSync b = sync_point(source);
  EXPECT_GE(b.ticks, a.ticks);
  EXPECT_GE(b.monotonic_ns, a.monotonic_ns);
}

}  // namespace
}  // namespace loopscope::probes
