#include "debug_state.hpp"

namespace loopscope::detail {

DebugState::DebugState(Loop& owner) : loop(owner) {
}

}  // namespace loopscope::detail
