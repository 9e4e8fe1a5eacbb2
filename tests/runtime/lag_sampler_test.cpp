// The loop's lag sampler (Loop::lag_stats()) and its histogram. The sampler measures with
// the debug step clock when a test sets one: here the loop's own ManualClock, so that a
// step "holds" the loop for exactly what it advances the clock by.

#include "../../runtime/src/lag_sampler.hpp"

#include "test_support.hpp"
#include <loopscope/detail/debug_hooks.hpp>
#include <loopscope/detail/lag_histogram.hpp>
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::WarningRecorder;

// Makes the sampler (and debug mode's step timing) read `clock` while it exists.
class LagClock {
 public:
  explicit LagClock(const Clock& clock) { detail::set_debug_step_clock(&clock); }
  LagClock(const LagClock&) = delete;
  LagClock& operator=(const LagClock&) = delete;
  LagClock(LagClock&&) = delete;
  LagClock& operator=(LagClock&&) = delete;
  ~LagClock() { detail::set_debug_step_clock(nullptr); }
};

Options debug_options(ManualClock& clock) {
  Options options;
  options.clock = &clock;
  options.debug = true;
  return options;
}

ManualClock& manual_clock() {
  return static_cast<ManualClock&>(*current_loop().options().clock);
}

// Holds the loop for `held` (the clock moves while the step runs), then yields.
Task<void> hold_loop(Duration held) {
  manual_clock().advance(held);
  co_await sleep(0ms);
}

TEST(LagSampler, AStepThatHoldsTheLoopShowsAsTheLagOfTheNextSample) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  auto amain = []() -> Task<LagStats> {
    co_await hold_loop(30ms);  // the first sample was due at 10 ms
    co_return current_loop().lag_stats();
  };
  const LagStats stats = run(amain(), debug_options(clock));
  EXPECT_EQ(stats.samples, 1u);
  EXPECT_EQ(stats.max, 20ms);
  EXPECT_EQ(stats.p50, 20ms);
  EXPECT_EQ(stats.p99, 20ms);
}

TEST(LagSampler, WaitingForATimerIsNotLag) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  auto amain = []() -> Task<LagStats> {
    for (int i = 0; i < 3; ++i) {
      co_await sleep(50ms);  // the clock jumps ahead: the loop is idle, not late
    }
    co_return current_loop().lag_stats();
  };
  const LagStats stats = run(amain(), debug_options(clock));
  // Samples at 50 and 100 ms, each taken before the loop jumps on; the last step (at 150
  // ms) runs right after the jump, before the next sample.
  EXPECT_EQ(stats.samples, 2u);
  EXPECT_EQ(stats.max, 0ns);
}

TEST(LagSampler, PercentilesSummariseManySamples) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  auto amain = []() -> Task<LagStats> {
    // Each hold is 10 ms past the sample's deadline: 10 ms nine times, then 100 ms once.
    for (int i = 0; i < 9; ++i) {
      co_await hold_loop(20ms);
    }
    co_await hold_loop(110ms);
    co_return current_loop().lag_stats();
  };
  Options options = debug_options(clock);
  options.slow_callback_duration = 1s;  // no finding: this test is about the figures
  const LagStats stats = run(amain(), options);
  EXPECT_EQ(stats.samples, 10u);
  EXPECT_GE(stats.p50, 10ms);
  EXPECT_LE(stats.p50, 10'625us);
  EXPECT_LE(stats.p90, 10'625us);
  EXPECT_EQ(stats.p99, 100ms);
  EXPECT_EQ(stats.max, 100ms);
}

TEST(LagSampler, TheSamplerDoesNotKeepAFinishedProgramRunning) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  auto amain = []() -> Task<std::size_t> {
    co_await sleep(25ms);
    co_return current_loop().pending_tasks();
  };
  EXPECT_EQ(run(amain(), debug_options(clock)), 1u);  // main itself; the sampler is no task
  EXPECT_EQ(testing::ms_since_start(clock), 25);      // and no timer the clock jumped to
}

TEST(LagSampler, ADeadlockIsStillReportedWhileSampling) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  auto amain = []() -> Task<void> {
    Event never;
    co_await never.wait();
  };
  EXPECT_THROW(run(amain(), debug_options(clock)), Error);
}

TEST(LagSampler, DebugModeReportsLagAboveTheThresholdAtMostOncePerSecond) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  const WarningRecorder warnings{WarningKind::kLoopLag, WarningKind::kSlowCallback};
  Options options = debug_options(clock);
  options.slow_callback_duration = 15ms;
  auto amain = []() -> Task<void> {
    co_await hold_loop(30ms);  // 20 ms late at 30 ms: reported
    co_await hold_loop(30ms);  // 20 ms late again at 60 ms: within the second, quiet
    co_await hold_loop(1s);    // 990 ms late at 1060 ms: reported
    co_await hold_loop(5ms);   // 5 ms late: under the threshold
  };
  run(amain(), options);
  EXPECT_EQ(warnings.count(WarningKind::kLoopLag), 2);
}

TEST(LagSampler, NothingIsSampledWithoutDebugModeOrATrace) {
  ManualClock clock;
  const LagClock lag_clock(clock);
  auto amain = []() -> Task<LagStats> {
    co_await hold_loop(30ms);
    co_await hold_loop(30ms);
    co_return current_loop().lag_stats();
  };
  Options options;
  options.clock = &clock;
  EXPECT_EQ(run(amain(), options).samples, 0u);
}

// In real time the loop checks the sample's deadline against a gate in probe clock ticks.
// Before the sampler has measured the tick rate, the gate must neither open at once (the
// loop would read the clock every iteration) nor later than the deadline.
TEST(LagSampler, BeforeTheTickRateIsKnownTheGateOpensBeforeTheDeadlineButNotAtOnce) {
  detail::LagSampler sampler(10s, nullptr);
  const TimePoint now = sampler.now();
  constexpr std::uint64_t kTicks = 1000;  // before the sampler's start: no rate from it
  sampler.regate(kTicks, now);
  const std::uint64_t ahead = sampler.gate_ticks() - kTicks;
  // The deadline is 10 s from the sampler's start, so 5-10 s from `now`.
  constexpr double kFiveSecondsNs = 5e9;
  if (sampler.tick_source() == probes::TickSource::kMonotonicNs) {
    EXPECT_GE(static_cast<double>(ahead), kFiveSecondsNs);  // ticks are nanoseconds
    EXPECT_LE(ahead, std::uint64_t{10'000'000'000});
  } else {
    // At most a quarter of a tick per nanosecond assumed: every TSC is faster.
    EXPECT_GE(static_cast<double>(ahead), kFiveSecondsNs / 4);
    EXPECT_LE(ahead, std::uint64_t{2'500'000'000});
  }
}

TEST(LagHistogram, SmallValuesAreExactAndLargeOnesWithinOneSixteenth) {
  detail::LagHistogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    h.add(v);
  }
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1000u);
  EXPECT_GE(h.percentile(50), 500u);
  EXPECT_LE(h.percentile(50), 500u + 500u / 16);
  EXPECT_GE(h.percentile(99), 990u);
  EXPECT_LE(h.percentile(99), 1000u);
  EXPECT_EQ(h.percentile(100), 1000u);

  detail::LagHistogram small;
  for (std::uint64_t v : {3u, 7u, 7u, 20u}) {
    small.add(v);
  }
  EXPECT_EQ(small.percentile(50), 7u);
  EXPECT_EQ(small.percentile(75), 7u);
  EXPECT_EQ(small.percentile(100), 20u);
}

TEST(LagHistogram, AnEmptyHistogramSaysZeroAndTheLargestValueFits) {
  detail::LagHistogram h;
  EXPECT_EQ(h.percentile(50), 0u);
  h.add(UINT64_MAX);
  EXPECT_EQ(h.percentile(50), UINT64_MAX);
  EXPECT_EQ(h.max(), UINT64_MAX);
}

}  // namespace
}  // namespace loopscope
