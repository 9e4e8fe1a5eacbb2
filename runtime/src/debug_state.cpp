#include "debug_state.hpp"

namespace loopscope::detail {

constinit thread_local DebugState* t_debug_state = nullptr;

DebugState::DebugState(Loop& owner)
    : loop(owner), fanout_limit(owner.options().fanout_limit), previous_debug_state(t_debug_state) {
  t_debug_state = this;  // from now on, frames created on this thread record their stacks
}

DebugState::~DebugState() {
  t_debug_state = previous_debug_state;
}

}  // namespace loopscope::detail
