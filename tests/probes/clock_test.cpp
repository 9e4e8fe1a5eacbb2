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

// A clock whose reads take `cost` units each but that shows only multiples of `step`, and
// never the same value twice (a read that lands in the step of the one before is one more),
// as a TSC on a KVM guest does (26 ticks a step; back to back, two reads are 26 apart or 1).
struct SteppedClock {
  std::uint64_t cost;
  std::uint64_t step;
  std::uint64_t time = 1'000'000;
  std::uint64_t shown = 0;
  std::uint64_t operator()() noexcept {
    time += cost;
    const std::uint64_t value = time / step * step;
    shown = value > shown ? value : shown + 1;
    return shown;
  }
};

TEST(ProbeClock, TheCostOfAReadIsWhatItCostsEvenWhenTheClockAdvancesInSteps) {
  for (std::uint64_t cost = 2; cost <= 60; ++cost) {
    SteppedClock clock{cost, 26};
    const std::uint64_t measured = read_cost(clock);
    // An average over kCostReads reads, so within a step's share of it.
    EXPECT_NEAR(static_cast<double>(measured), static_cast<double>(cost), 26.0 / kCostReads + 1.0)
        << "cost " << cost;
  }
}

TEST(ProbeClock, AReadPreemptedWhileTheCostIsMeasuredDoesNotCount) {
  std::uint64_t time = 0;
  int reads = 0;
  const std::uint64_t measured = read_cost([&] {
    time += ++reads == 10 ? 5'000'000 : 30;  // one read waits out a time slice
    return time;
  });
  EXPECT_EQ(measured, 30u);
}

}  // namespace
}  // namespace loopscope::probes
