// The probes' clock: raw ticks that cost a few nanoseconds to read on the loop thread.
//
// Where the CPU has an invariant TSC (constant rate, not stopped in idle states, the same on
// every core), ticks are rdtsc values; elsewhere they are CLOCK_MONOTONIC nanoseconds. The
// recording thread never converts: the collector writes calibration points (ticks,
// monotonic ns) into the trace and the reader interpolates between them.
#pragma once

#include <algorithm>
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

// What one read of a clock costs, in the clock's own units: the least, over a few tries, of
// the average gap between kCostReads back-to-back reads (a try that was preempted averages
// high and loses). An average, not the least gap of two reads: a TSC can advance in steps
// (on a KVM guest, by 26 ticks every 10 ns), so that two reads 26 ticks apart in cost now
// and then come back 0 or 1 apart, and the least of a few gaps says the clock costs nothing.
inline constexpr int kCostReads = 64;
template <class Read>
std::uint64_t read_cost(Read read) noexcept(noexcept(read())) {
  std::uint64_t best = UINT64_MAX;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::uint64_t first = read();
    std::uint64_t last = first;
    for (int i = 0; i < kCostReads; ++i) {
      last = read();
    }
    best = std::min<std::uint64_t>(best, (last - first + kCostReads / 2) / kCostReads);
  }
  return std::max<std::uint64_t>(best, 1);
}

// A pair of readings taken back to back, for calibration.
struct ClockSync {
  std::uint64_t ticks;
  std::uint64_t monotonic_ns;
};
ClockSync sync_point(TickSource source) noexcept;

}  // namespace loopscope::probes
