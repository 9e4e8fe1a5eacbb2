#include "debug_state.hpp"

namespace loopscope::detail {

DebugState::DebugState(Loop& owner) : loop(owner) {
}

DebugState::~DebugState() = default;

}  // namespace loopscope::detail
