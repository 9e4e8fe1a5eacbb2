#include <loopscope/probes/clock.hpp>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace loopscope::probes {

namespace {

TickSource detect() noexcept {
#if defined(__x86_64__)
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  // CPUID 0x80000007 EDX bit 8: invariant TSC.
  if (__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) != 0 && eax >= 0x80000007u &&
      __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx) != 0 && (edx & (1u << 8)) != 0) {
    return TickSource::kTsc;
  }
#endif
  return TickSource::kMonotonicNs;
}

}  // namespace

TickSource tick_source() noexcept {
  static const TickSource source = detect();
  return source;
}

ClockSync sync_point(TickSource source) noexcept {
  // Bracket the monotonic reading with two tick readings and keep the tightest of a few
  // tries, so a preemption between the two reads does not skew the calibration.
  ClockSync best{};
  std::uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t before = read_ticks(source);
    const std::uint64_t ns = monotonic_ns();
    const std::uint64_t after = read_ticks(source);
    if (after - before < best_width) {
      best_width = after - before;
      best = ClockSync{before + (after - before) / 2, ns};
    }
  }
  return best;
}

}  // namespace loopscope::probes
