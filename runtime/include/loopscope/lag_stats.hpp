// LagStats: how late the loop has been running what was due (its scheduling delay).
//
// While a trace is written or debug mode is on, the loop samples its own lag every
// Options::lag_sample_interval (10 ms by default), the way tokio-console and asyncio's
// slow-callback check look for a loop held up by a step that does not yield: at each sample
// it measures how far past the sample's deadline the loop got to it, not counting time the
// loop spent idle (waiting in poll, or a ManualClock jumping ahead). Loop::lag_stats()
// summarises the samples so far; the trace holds each one (lag_sample events).
//
// Percentiles come from a log-linear histogram (HdrHistogram's layout: 16 buckets per power
// of two), so they are exact to within 1/16 of their value; `max` is exact.
#pragma once

#include <loopscope/clock.hpp>

#include <cstdint>

namespace loopscope {

struct LagStats {
  std::uint64_t samples = 0;
  Duration p50{};
  Duration p90{};
  Duration p99{};
  Duration max{};
};

}  // namespace loopscope
