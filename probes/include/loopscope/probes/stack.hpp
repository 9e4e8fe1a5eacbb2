// Stack capture: the return addresses of the calling thread, innermost first.
//
// Uses libunwind's local unwinder (DWARF CFI of every loaded module), so it works for code
// built without frame pointers. unw_backtrace is async-signal-safe for the local address
// space, which is what the stall watchdog relies on when it captures the loop thread's
// stack from a signal handler. About 6 ns per frame with warm caches; symbolizing the
// addresses (symbolizer.hpp) is the expensive part and happens only when a finding is
// printed or a trace is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace loopscope::probes {

// Fills `out` with up to out.size() return addresses of the caller's stack, innermost
// first, after skipping `skip` frames above the caller (0: the caller's caller comes
// first). Returns the number written. Async-signal-safe; never throws.
std::size_t capture_stack(std::span<std::uintptr_t> out, std::size_t skip = 0) noexcept;

}  // namespace loopscope::probes
