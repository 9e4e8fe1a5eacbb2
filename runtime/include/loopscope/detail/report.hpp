// Findings of the lifecycle and debug checks, printed to stderr as
//   loopscope: warning: <kind>: <message>
// A process-wide observer can be installed to see them as well (tests use it).
#pragma once

#include <coroutine>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace loopscope::probes {
class Recorder;
}  // namespace loopscope::probes

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

// One frame of a finding's stack, symbolized.
struct StackFrame {
  std::string function;  // demangled; "<unknown>" if not even a symbol is known
  std::string file;      // empty without debug information
  std::uint32_t line = 0;
  std::uintptr_t address = 0;
};

struct Warning {
  WarningKind kind;
  std::string message;
  // Innermost first, the loop's and the standard library's own frames left out.
  std::vector<StackFrame> frames{};
};

// Installs an observer called for every finding (in addition to stderr); returns the
// previous one. Not thread-safe with respect to concurrent findings: set it up front.
using WarningObserver = std::function<void(const Warning&)>;
WarningObserver set_warning_observer(WarningObserver observer);

namespace detail {

// Where a finding happened, as well as the check knows it.
struct FindingContext {
  // Raw return addresses (probes::capture_stack), innermost first; may be empty.
  std::span<const std::uintptr_t> stack{};
  // A code address that names the place when there is no stack (a coroutine's resume
  // function, a callback's code): printed as the first frame.
  std::uintptr_t code = 0;
  // Findings with the same kind and site are printed once; 0 means "the message".
  std::uintptr_t site = 0;
  // The task the finding is about (0: none); recorded in the trace.
  std::uint64_t task = 0;
  // The trace to record it in; null: the trace of the calling thread's loop, if any.
  probes::Recorder* recorder = nullptr;
  // When it happened, in that recorder's clock (a finding reported from another thread
  // later on); 0: when it is reported.
  std::uint64_t ticks = 0;
};

// Prints `loopscope: warning: <kind>: <message>` and its `    at f (file:line)` frames on
// stderr (once per kind and site), tells the observer, records the finding in the trace of
// the calling thread's loop, and aborts if LOOPSCOPE_DEBUG_ABORT names the kind.
// Callable from any thread; never throws.
void report_warning(WarningKind kind, std::string message,
                    const FindingContext& context = {}) noexcept;
// Forgets which sites were already reported (tests).
void reset_reported_sites() noexcept;
// True if LOOPSCOPE_DEBUG_ABORT (read once) names `kind` or "all".
bool aborts_on(WarningKind kind) noexcept;
// Symbolizes `stack` and drops the frames of loopscope's runtime, the standard library and
// the C runtime below main(): what remains is the user's code and the call that blocks.
std::vector<StackFrame> user_frames(std::span<const std::uintptr_t> stack);
// The name of the coroutine function of a frame, as well as it can be told.
std::string coroutine_name(std::coroutine_handle<> frame);
// The address of a coroutine frame's resume function (names the coroutine): with GCC and
// Clang a coroutine frame starts with it. Also what the probes record for task_created.
inline std::uintptr_t coroutine_code(std::coroutine_handle<> frame) noexcept {
  std::uintptr_t resume_fn = 0;
  static_assert(sizeof(resume_fn) == sizeof(void (*)()));
  std::memcpy(&resume_fn, frame.address(), sizeof(resume_fn));
  return resume_fn;
}
// The demangled name of the function at a code address (a coroutine_code(), a callback's
// code), as well as it can be told.
std::string code_name(std::uintptr_t code);

// Symbolizes a stack (return addresses, as for user_frames) and code addresses ahead of the
// findings that will need them, without holding up those findings meanwhile: the reading is
// done with a symbolizer of the calling thread's own, which then replaces the shared one if
// no finding has used that yet. Called once, off the loop thread.
void warm_up_symbols(std::span<const std::uintptr_t> stack, std::span<const std::uintptr_t> code);

// Debug mode's own time: how long reporting findings (symbolizing above all) has taken so
// far, all threads together, and whether a report is under way. The slow_callback and
// stall checks leave it out of a step's time: a loop that waits for a thread while that
// thread reports a finding is not slow.
std::int64_t reporting_ns() noexcept;
bool reporting_under_way() noexcept;
// Leaves the calling thread's symbolizing out of reporting_ns() and reporting_under_way():
// for a thread that symbolizes ahead of time (the stall watchdog's warm-up), which no step
// waits for. A step that waits for it (on the report lock) counts that wait itself.
void set_reporting_uncounted() noexcept;
// Counts the scope it lives in as reporting time (nested scopes count once).
class ReportingTime {
 public:
  ReportingTime() noexcept;
  ReportingTime(const ReportingTime&) = delete;
  ReportingTime& operator=(const ReportingTime&) = delete;
  ReportingTime(ReportingTime&&) = delete;
  ReportingTime& operator=(ReportingTime&&) = delete;
  ~ReportingTime();

 private:
  std::int64_t start_ns_ = 0;
};
}  // namespace detail

}  // namespace loopscope
