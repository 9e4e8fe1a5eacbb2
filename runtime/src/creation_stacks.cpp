#include "debug_state.hpp"

namespace loopscope::detail {

std::span<const std::uintptr_t> DebugState::creation_stack(
    const PromiseBase& /*task*/) const noexcept {
  return {};
}

}  // namespace loopscope::detail
