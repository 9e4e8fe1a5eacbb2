// Options of loopscope::run(), the single entry point of a program's event loop.
//
// Environment variables override or enable the same settings without recompiling:
//   LOOPSCOPE_DEBUG=1|true|yes   turns debug mode on (0, false, no and anything else do not)
//   LOOPSCOPE_SLOW_CALLBACK_MS=N sets slow_callback_duration
//   LOOPSCOPE_FANOUT_LIMIT=N     sets fanout_limit
//   LOOPSCOPE_STALL_MS=N         sets stall_duration
//   LOOPSCOPE_TRACE=path         sets trace_path
//   LOOPSCOPE_LIVE=host:port     sets live_address
#pragma once

#include <loopscope/clock.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace loopscope {

struct Options {
  // Debug mode: the checks of the asyncio debugging advice (see docs/debug-mode.md).
  bool debug = false;
  // A task step or callback holding the loop longer than this is reported in debug mode.
  std::chrono::milliseconds slow_callback_duration{100};
  // More live tasks than this spawned at one place is reported in debug mode
  // (unbounded_fanout: bound the fan-out with a Semaphore).
  std::size_t fanout_limit = 10'000;
  // A step still holding the loop after this long is reported in debug mode while it runs,
  // with the loop thread's stack at that moment (the frame that blocks).
  std::chrono::milliseconds stall_duration{1000};
  // While tracing or in debug mode the loop samples its scheduling delay this often
  // (Loop::lag_stats(), lag_stats.hpp); debug mode reports a lag of slow_callback_duration
  // or more (loop_lag). Zero turns sampling off.
  std::chrono::milliseconds lag_sample_interval{10};
  // Write a trace of the run to this file (empty: no trace).
  std::string trace_path{};
  // Serve the live page and stream events on this address (empty: off).
  std::string live_address{};
  // The loop's clock; null means std::chrono::steady_clock. Tests pass a ManualClock.
  Clock* clock = nullptr;
};

// Returns `options` with the LOOPSCOPE_* environment variables applied.
Options apply_environment(Options options);

// True for "1", "true" and "yes" (any case); false for everything else, including "0".
bool env_flag_enabled(const char* value) noexcept;

}  // namespace loopscope
