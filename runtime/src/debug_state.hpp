// What debug mode keeps for one loop (Options::debug / LOOPSCOPE_DEBUG=1).
//
// The Loop creates one when debug mode is on and destroys it after its leftover tasks;
// the checks find it through Loop::debug_state(). Each check keeps its own part here, so
// that a loop without debug mode pays one null pointer and nothing else.
#pragma once

#include "blocking_calls.hpp"
#include "creation_stacks.hpp"
#include "deferred_reports.hpp"
#include "slow_callback.hpp"
#include "stall_watchdog.hpp"
#include <loopscope/loop.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_set>

namespace loopscope::detail {

struct DebugState {
  explicit DebugState(Loop& loop);
  DebugState(const DebugState&) = delete;
  DebugState& operator=(const DebugState&) = delete;
  DebugState(DebugState&&) = delete;
  DebugState& operator=(DebugState&&) = delete;
  ~DebugState();

  Loop& loop;

  // ---- creation stacks (creation_stacks.cpp) ----
  // The stack `task`'s coroutine was created with, innermost first (user frames included,
  // capture_stack order); empty if none was captured.
  [[nodiscard]] std::span<const std::uintptr_t> creation_stack(
      const PromiseBase& task) const noexcept;
  // The creation stack a PromiseBase::debug_id_ (stack or origin id) names.
  [[nodiscard]] std::span<const std::uintptr_t> stack_of(std::uint32_t debug_id) const noexcept;
  // Every distinct creation stack of this loop's frames, and where its tasks were spawned.
  StackTable stacks;
  OriginTable origins;

  // ---- slow callbacks, stalls, blocking calls (slow_callback.cpp, stall_watchdog.cpp,
  //      blocking_calls.cpp) ----
  // Times each step (slow_callback) and publishes it for the watchdog.
  StepMonitor steps{*this};
  // Samples the loop thread's stack when a step stalls; its thread runs while this exists.
  StallWatchdog watchdog{loop, steps.activity()};
  // Reports the blocking libc calls made on the loop's thread.
  BlockingCallChecks blocking_calls;
  // The blocking calls' sites handed to deferred_reports (loop thread only).
  std::unordered_set<std::uintptr_t> blocking_sites_posted;

  // ---- task lifecycle checks (fanout, cancellation, generators: task_findings.cpp) ----
  // More live tasks than this from one spawn site is an unbounded fan-out.
  std::size_t fanout_limit;
  // t_debug_state before this loop's (restored on destruction).
  DebugState* previous_debug_state = nullptr;
  // Findings reported off the loop thread (unbounded_fanout, blocking_call); joined first on
  // destruction.
  DeferredReports deferred_reports;
};

}  // namespace loopscope::detail
