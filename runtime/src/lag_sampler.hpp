// The loop's lag sampler (Loop::lag_stats(), lag_stats.hpp) and its histogram.
//
// The sampler is not a timer: a timer would keep a ManualClock jumping to it forever and
// would count as work in deadlock and drain checks. The loop instead checks the sample's
// deadline at the start of each iteration, before it may go idle; an idle loop takes no
// samples. The lag of a sample is how far past its deadline the loop got to it, not
// counting time spent idle (waiting in poll, or a virtual clock jumping ahead).
//
// Lag is real time, like debug mode's other timings: a ManualClock that a test advances
// is simulated time, not a held loop. A test that sets detail::set_debug_step_clock()
// makes the sampler measure with that clock instead (then a step "holds" the loop for what
// the test advances it by). With real time the check compares the latest probe clock
// reading (which the loop has anyway when tracing) with a gate converted from the
// deadline, so that most iterations read no clock for it.
#pragma once

#include <loopscope/clock.hpp>
#include <loopscope/detail/lag_histogram.hpp>
#include <loopscope/lag_stats.hpp>
#include <loopscope/probes/clock.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace loopscope::detail {

class LagSampler {
 public:
  // Measures with `clock`, or real time if null.
  LagSampler(Duration interval, const Clock* clock) noexcept;
  LagSampler(const LagSampler&) = delete;
  LagSampler& operator=(const LagSampler&) = delete;
  LagSampler(LagSampler&&) = delete;
  LagSampler& operator=(LagSampler&&) = delete;
  ~LagSampler();

  [[nodiscard]] TimePoint now() const noexcept {
    return clock_ != nullptr ? clock_->now() : TimePoint(std::chrono::steady_clock::now());
  }

  // True if the sample may be due (always true with a virtual clock). `ticks` is a recent
  // probe clock reading.
  [[nodiscard]] bool gate_open(std::uint64_t ticks) const noexcept {
    return clock_ != nullptr || ticks >= gate_ticks_;
  }
  // The tick reading from which gate_open() is true (0 with a virtual clock).
  [[nodiscard]] std::uint64_t gate_ticks() const noexcept {
    return clock_ != nullptr ? 0 : gate_ticks_;
  }
  [[nodiscard]] bool due(TimePoint now) const noexcept { return now >= deadline_; }
  // Moves the gate to the deadline, seen from `now` and `ticks`.
  void regate(std::uint64_t ticks, TimePoint now) noexcept;
  // Takes the sample due at `now`: returns its lag and sets the next deadline.
  Duration take(TimePoint now) noexcept;
  void set_idle_until(TimePoint t) noexcept { idle_until_ = t; }

  [[nodiscard]] bool real_clock() const noexcept { return clock_ == nullptr; }
  [[nodiscard]] probes::TickSource tick_source() const noexcept { return source_; }
  [[nodiscard]] LagStats stats() const noexcept;
  // Of the time since the previous call, what was not the program's doing: reporting
  // findings (debug mode's own time) and, in real time, waiting for a CPU while runnable (the
  // thread's run-queue delay in /proc/thread-self/schedstat). Debug mode leaves it out of
  // the lag it warns about: a loop the OS did not run, or that was busy reporting, was not
  // held by a step. Zero with a test's clock.
  Duration excused_time() noexcept;
  // Debug mode warns at most once per second of loop time.
  [[nodiscard]] bool may_warn(TimePoint now) const noexcept;
  void warned(TimePoint now) noexcept {
    last_warning_ = now;
    warned_once_ = true;
  }

 private:
  const Clock* clock_;
  Duration interval_;
  probes::TickSource source_;
  // Calibration of ticks against the sampler's clock, for the gate.
  std::uint64_t start_ticks_;
  TimePoint start_time_;
  // A TSC runs at 1 GHz or more: a quarter of that is a safe floor.
  static constexpr double kSlowestTicksPerNs = 0.25;
  double ticks_per_ns_ = 0.0;  // 0 until a millisecond has passed (1 for nanosecond ticks)
  std::uint64_t gate_ticks_ = 0;
  TimePoint deadline_{};
  TimePoint idle_until_{};
  TimePoint last_warning_{};
  bool warned_once_ = false;
  std::int64_t reporting_seen_ns_ = 0;
  std::int64_t run_delay_seen_ns_ = 0;
  int schedstat_fd_ = -1;
  LagHistogram histogram_;
};

}  // namespace loopscope::detail
