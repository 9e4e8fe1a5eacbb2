// Clocks the event loop reads its time from.
//
// The loop reads std::chrono::steady_clock unless Options::clock names another Clock.
// ManualClock is the one tests use: its time only moves when advance() is called or when
// the loop has nothing to run and jumps straight to the next timer deadline (like Trio's
// autojump clock), so timer tests are instant and exact.
//
// Thread-safety: a Clock is read by its loop's thread only; ManualClock::advance() must be
// called on that thread too (for example from a task).
#pragma once

#include <chrono>

namespace loopscope {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  Clock(Clock&&) = delete;
  Clock& operator=(Clock&&) = delete;
  virtual ~Clock() = default;

  [[nodiscard]] virtual TimePoint now() const = 0;

  // Called when the loop is idle and its next timer is due at `deadline`. A clock that can
  // move itself there (a virtual clock) does so and returns true; a real clock returns false
  // and the loop waits for the deadline instead.
  virtual bool jump_to(TimePoint deadline) {
    (void)deadline;
    return false;
  }
  // True for a clock whose time only moves when told to (the loop can then tell that it
  // is deadlocked instead of waiting forever).
  [[nodiscard]] virtual bool is_virtual() const noexcept { return false; }
};

// The real monotonic clock, for symmetry with ManualClock.
class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A virtual clock that starts at `start` and moves only when told to, or when its loop is
// idle and waits for a timer (then it jumps to that timer's deadline).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}

  [[nodiscard]] TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  bool jump_to(TimePoint deadline) override {
    if (deadline > now_) {
      now_ = deadline;
    }
    return true;
  }
  [[nodiscard]] bool is_virtual() const noexcept override { return true; }

 private:
  TimePoint now_;
};

}  // namespace loopscope
