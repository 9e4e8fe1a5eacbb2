// What debug mode keeps for one loop (Options::debug / LOOPSCOPE_DEBUG=1).
//
// The Loop creates one when debug mode is on and destroys it after its leftover tasks;
// the checks find it through Loop::debug_state(). Each check keeps its own part here, so
// that a loop without debug mode pays one null pointer and nothing else.
#pragma once

#include <loopscope/loop.hpp>

#include <cstdint>
#include <span>

namespace loopscope::detail {

struct DebugState {
  explicit DebugState(Loop& loop);
  DebugState(const DebugState&) = delete;
  DebugState& operator=(const DebugState&) = delete;
  DebugState(DebugState&&) = delete;
  DebugState& operator=(DebugState&&) = delete;
  ~DebugState() = default;

  Loop& loop;

  // ---- creation stacks (creation_stacks.cpp) ----
  // The stack `task`'s coroutine was created with, innermost first (user frames included,
  // capture_stack order); empty if none was captured.
  [[nodiscard]] std::span<const std::uintptr_t> creation_stack(
      const PromiseBase& task) const noexcept;

  // ---- slow callbacks, stalls, blocking calls (slow_callback.cpp, stall_watchdog.cpp,
  //      blocking_calls.cpp) ----

  // ---- task lifecycle checks (fanout, cancellation, generators) ----
};

}  // namespace loopscope::detail
