// Findings of the lifecycle and debug checks, printed to stderr as
//   loopscope: warning: <kind>: <message>
// A process-wide observer can be installed to see them as well (tests use it).
#pragma once

#include <coroutine>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace loopscope {

// The debug checks, named as in the trace and in `loopscope report --json`.
enum class WarningKind : std::uint8_t {
  kSlowCallback,
  kStall,
  kNeverAwaited,
  kDestroyedPending,
  kExceptionNeverRetrieved,
  kLoopLag,
  kThreadSafety,
  kWrongLoop,
  kNestedRun,
  kSwallowedCancellation,
  kBlockingCall,
  kUnboundedFanout,
  kGeneratorClosedByCancellation,
};

// "slow_callback", "never_awaited", ...
std::string_view warning_kind_name(WarningKind kind) noexcept;

struct Warning {
  WarningKind kind;
  std::string message;
};

// Installs an observer called for every finding (in addition to stderr); returns the
// previous one. Not thread-safe with respect to concurrent findings: set it up front.
using WarningObserver = std::function<void(const Warning&)>;
WarningObserver set_warning_observer(WarningObserver observer);

namespace detail {
void report_warning(WarningKind kind, std::string message) noexcept;
// The name of the coroutine function of a frame, as well as it can be told.
std::string coroutine_name(std::coroutine_handle<> frame);
}  // namespace detail

}  // namespace loopscope
