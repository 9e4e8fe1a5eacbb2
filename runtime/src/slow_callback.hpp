// Debug mode's slow_callback check, and the per-step bookkeeping the stall watchdog reads.
//
// Loop::run_ready_debug calls begin_batch() once, then begin_step()/end_step() around each
// task step or callback. A step longer than Options::slow_callback_duration is reported when
// it ends, as asyncio's debug mode does ("Executing <Task> took 0.153 seconds"), with the
// task's name, coroutine and creation stack.
//
// Reading the clock (CLOCK_MONOTONIC, ~25 ns here) costs several times a short step (a
// yield: 6 ns), so, like the traced path, debug mode reads it once per *window* of steps,
// sized so that the reads cost about 1/64 of the loop's time, and a window of long steps
// shrinks to a single step, which is then timed exactly. Inside a window of several steps
// the watchdog tells which step was long: one it saw running at two of its wakes (a quarter
// of the threshold apart) is timed when it ends, from the later of the window's start and
// the last wake that did not see it. Per step this costs three relaxed stores, a load and
// two reference counts; a slow step is never missed, and its time is exact in a window of
// one, otherwise overstated by at most the time of the window's earlier steps. Time spent
// reporting findings meanwhile (detail::reporting_ns()) is debug mode's, not the step's, and
// so is the time the loop thread waited for a CPU (the kernel's run_delay, as the watchdog
// reads it): on a loaded machine a step is not slow because other processes ran.
//
// Steps are timed with the clock given to set_debug_step_clock() instead, one step per
// window, when a test sets one (a step then "takes" what the test advances it by).
#pragma once

#include "stall_watchdog.hpp"
#include <loopscope/clock.hpp>
#include <loopscope/detail/debug_hooks.hpp>
#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>

#include <cstdint>

namespace loopscope::detail {

struct DebugState;

// The longest step timed on its own (in a window of one) since the last lag sample: what
// the loop_lag finding names as the likely cause. Kept as plain values, since the task may
// be gone when the lag is reported.
struct HeaviestStep {
  std::int64_t ns = 0;  // 0: none
  bool is_callback = false;
  const char* callback_type = nullptr;
  std::uintptr_t code = 0;
  std::uint32_t debug_id = 0;
  std::uint64_t task = 0;
  std::string name;  // the task's own name, if it has one
};

class StepMonitor {
 public:
  explicit StepMonitor(DebugState& state);

  void begin_batch() noexcept {
    if (window_ == 1) {
      open_window(now_ns());  // a window of one step times it exactly: from here
    }
  }
  // Keeps the task or callback alive across its step, so that a slow one can still be
  // named when the step ends (a finishing task would otherwise free its frame).
  void begin_step(ReadyNode* node) noexcept {
    hold(node);
    step_ = activity_.begin(node);
  }
  void end_step(ReadyNode* node) noexcept {
    activity_.end(step_);
    if (--left_ == 0 || activity_.long_step.load(std::memory_order_relaxed) == step_) [[unlikely]] {
      close_window(node);
    }
    release(node);
  }

  // The heaviest step since the previous call, and forgets it.
  [[nodiscard]] HeaviestStep take_heaviest() noexcept { return std::exchange(heaviest_, {}); }
  // "task 'Task-3' (coroutine resize(int), created at app.cpp:48)" or "callback 'X'".
  [[nodiscard]] std::string describe(const HeaviestStep& step) const;

  [[nodiscard]] StepActivity& activity() noexcept { return activity_; }
  [[nodiscard]] const StepActivity& activity() const noexcept { return activity_; }

 private:
  [[nodiscard]] std::int64_t now_ns() const noexcept {
    if (step_clock_ != nullptr) [[unlikely]] {
      return std::chrono::nanoseconds(step_clock_->now().time_since_epoch()).count();
    }
    return steady_now_ns();
  }
  void open_window(std::int64_t now) noexcept {
    window_start_ns_ = now;
    reporting_at_start_ns_ = reporting_ns();
    left_ = window_;
    activity_.clock_read_ns.store(step_clock_ == nullptr ? now : steady_now_ns(),
                                  std::memory_order_relaxed);
  }
  // Times the step that just ended if it can have been slow, and sizes the next window.
  void close_window(ReadyNode* node) noexcept;
  static void hold(ReadyNode* node) noexcept {
    if (node->is_callback) {
      ++static_cast<CallbackNode*>(node)->refs;
    } else {
      static_cast<PromiseBase*>(node)->add_ref();
    }
  }
  static void release(ReadyNode* node) noexcept {
    if (node->is_callback) {
      static_cast<CallbackNode*>(node)->release();
    } else {
      static_cast<PromiseBase*>(node)->release();
    }
  }
  // How long the thread waited for a CPU during the step (a loaded machine's time).
  [[nodiscard]] std::int64_t waited_for_cpu_ns() const noexcept;
  void report_slow(ReadyNode* node, std::int64_t duration_ns) const noexcept;
  void note_heavy(const ReadyNode* node, std::int64_t duration_ns) noexcept;

  DebugState& state_;
  const Clock* step_clock_;
  std::int64_t threshold_ns_;
  std::uint32_t max_window_;
  std::uint32_t window_ = 1;  // steps per clock read
  std::uint32_t left_ = 1;    // steps left in the current window
  std::int64_t window_start_ns_ = 0;
  std::int64_t reporting_at_start_ns_ = 0;  // reporting_ns() then
  std::uint64_t step_ = 0;                  // the running step's sequence number
  StepActivity activity_;
  HeaviestStep heaviest_;
};

}  // namespace loopscope::detail
