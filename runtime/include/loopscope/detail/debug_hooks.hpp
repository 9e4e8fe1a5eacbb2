// Hooks of debug mode for tests (runtime/src/slow_callback.cpp).
#pragma once

#include <loopscope/clock.hpp>

namespace loopscope::detail {

// Debug mode times task steps and callbacks with `clock` instead of real time, in the loops
// created afterwards (null: real time again). A test then makes a step "take" 150 ms by
// advancing a ManualClock inside it, without waiting. Not thread-safe: set it up front.
void set_debug_step_clock(const Clock* clock) noexcept;
// The clock set above, or null. The lag sampler (Loop::lag_stats()) measures with it too.
const Clock* debug_step_clock() noexcept;

}  // namespace loopscope::detail
