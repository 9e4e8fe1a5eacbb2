// What debug mode keeps for one loop (Options::debug / LOOPSCOPE_DEBUG=1).
//
// The Loop creates one when debug mode is on and destroys it before anything else it owns;
// the checks find it through Loop::debug_state(). Each check keeps its own part here, so
// that a loop without debug mode pays one null pointer and nothing else.
#pragma once

#include <loopscope/loop.hpp>

namespace loopscope::detail {

struct DebugState {
  explicit DebugState(Loop& loop) : loop(loop) {}
  DebugState(const DebugState&) = delete;
  DebugState& operator=(const DebugState&) = delete;
  DebugState(DebugState&&) = delete;
  DebugState& operator=(DebugState&&) = delete;
  ~DebugState() = default;

  Loop& loop;
};

}  // namespace loopscope::detail
