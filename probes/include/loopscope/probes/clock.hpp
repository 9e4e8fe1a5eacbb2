// The probes' clock: raw ticks that cost a few nanoseconds to read on the loop thread.
//
// Where the CPU has an invariant TSC (constant rate, not stopped in idle states, the same on
// every core), ticks are rdtsc values; elsewhere they are CLOCK_MONOTONIC nanoseconds. The
// recording thread never converts: the collector writes calibration points (ticks,
// monotonic ns) into the trace and the reader interpolates between them.
#pragma once

#include <cstdint>
#include <ctime>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace loopscope::probes {

enum class TickSource : std::uint8_t { kTsc, kMonotonicNs };

// Decided once per process.
TickSource tick_source() noexcept;

inline std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Reads the clock of `source` (pass the value of tick_source(), cached by the caller).
inline std::uint64_t read_ticks(TickSource source) noexcept {
#if defined(__x86_64__)
  if (source == TickSource::kTsc) {
    return __rdtsc();
  }
#endif
  (void)source;
  return monotonic_ns();
}

// A pair of readings taken back to back, for calibration.
struct ClockSync {
  std::uint64_t ticks;
  std::uint64_t monotonic_ns;
};
ClockSync sync_point(TickSource source) noexcept;

}  // namespace loopscope::probes
