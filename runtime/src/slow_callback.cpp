#include "slow_callback.hpp"

#include "debug_state.hpp"
#include <loopscope/detail/report.hpp>

#include <algorithm>
#include <atomic>
#include <span>
#include <string>

namespace loopscope::detail {

namespace {

std::atomic<const Clock*> g_step_clock{nullptr};

// A window of steps lasts about this long (64 clock reads' worth)...
constexpr std::uint64_t kWindowNs = std::uint64_t{64} * 25;
// ... and holds at most this many steps.
constexpr std::uint32_t kMaxWindow = 64;

// "fetch.cpp:42" for the first frame of the user's code in a creation stack, or "".
std::string creation_site(std::span<const std::uintptr_t> stack) {
  for (const StackFrame& frame : user_frames(stack)) {
    if (frame.file.empty()) {
      return "";
    }
    const std::size_t slash = frame.file.rfind('/');
    return frame.file.substr(slash == std::string::npos ? 0 : slash + 1) + ":" +
           std::to_string(frame.line);
  }
  return "";
}

}  // namespace

void set_debug_step_clock(const Clock* clock) noexcept {
  g_step_clock.store(clock, std::memory_order_relaxed);
}

const Clock* debug_step_clock() noexcept {
  return g_step_clock.load(std::memory_order_relaxed);
}

StepMonitor::StepMonitor(DebugState& state)
    : state_(state),
      step_clock_(g_step_clock.load(std::memory_order_relaxed)),
      threshold_ns_(std::chrono::nanoseconds(state.loop.options().slow_callback_duration).count()),
      max_window_(step_clock_ != nullptr ? 1 : kMaxWindow) {
  open_window(now_ns());
}

void StepMonitor::close_window(ReadyNode* node) noexcept {
  const std::int64_t now = now_ns();
  const std::int64_t elapsed = now - window_start_ns_;
  // A window of one step timed it exactly. In a longer one, only a step the watchdog saw
  // running long can have been slow; it started after the watchdog's wake before that.
  std::int64_t start = window_start_ns_;
  if (window_ > 1) {
    start = activity_.long_step.load(std::memory_order_acquire) != step_
                ? now
                : std::max(start, activity_.long_step_after_ns.load(std::memory_order_relaxed));
  }
  const std::uint64_t fit = static_cast<std::uint64_t>(window_) * kWindowNs /
                            static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed, 1));
  window_ = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(fit, 1, max_window_));
  const std::int64_t own_ns = step_clock_ == nullptr ? reporting_ns() - reporting_at_start_ns_ : 0;
  if (now - start - own_ns > heaviest_.ns) [[unlikely]] {
    note_heavy(node, now - start - own_ns);
  }
  if (now - start - own_ns > threshold_ns_) [[unlikely]] {
    const std::int64_t held = now - start - own_ns - waited_for_cpu_ns();
    if (held > threshold_ns_) {
      report_slow(node, held);
    }
    open_window(now_ns());  // reporting took time of its own
    return;
  }
  open_window(now);
}

std::int64_t StepMonitor::waited_for_cpu_ns() const noexcept {
  // Known for a step the watchdog saw running (every slow one): the thread's run-queue wait
  // since the watchdog's wake before it. That wait may include a little before the step.
  const std::int64_t before = activity_.long_step_run_delay_ns.load(std::memory_order_relaxed);
  if (step_clock_ != nullptr || activity_.long_step.load(std::memory_order_acquire) != step_ ||
      before < 0) {
    return 0;
  }
  const std::int64_t now = state_.watchdog.run_delay_ns();
  return now >= before ? now - before : 0;
}

void StepMonitor::note_heavy(const ReadyNode* node, std::int64_t duration_ns) noexcept {
  heaviest_.ns = duration_ns;
  heaviest_.is_callback = node->is_callback;
  if (node->is_callback) {
    heaviest_.callback_type = static_cast<const CallbackNode*>(node)->type_name();
    return;
  }
  const auto* task = static_cast<const PromiseBase*>(node);
  heaviest_.code = task_code(*task);
  heaviest_.debug_id = task->debug_id_;
  heaviest_.task = task->id_;
  try {
    heaviest_.name = task->name_ ? *task->name_ : std::string();
  } catch (...) {  // NOLINT(bugprone-empty-catch): the name is optional
    heaviest_.name.clear();
  }
}

std::string StepMonitor::describe(const HeaviestStep& step) const {
  if (step.is_callback) {
    return "callback '" + demangled(step.callback_type) + "'";
  }
  std::string text = "task '" +
                     (step.name.empty() ? "Task-" + std::to_string(step.task) : step.name) +
                     "' (coroutine " + code_name(step.code);
  if (const std::string site = creation_site(state_.stack_of(step.debug_id)); !site.empty()) {
    text.append(", created at ").append(site);
  }
  return text + ")";
}

void StepMonitor::report_slow(ReadyNode* node, std::int64_t duration_ns) const noexcept {
  try {
    const std::string held = " held the loop for " + describe_duration(duration_ns);
    if (node->is_callback) {
      const char* type = static_cast<const CallbackNode*>(node)->type_name();
      report_warning(WarningKind::kSlowCallback, "callback '" + demangled(type) + "'" + held,
                     FindingContext{.site = reinterpret_cast<std::uintptr_t>(type)});
      return;
    }
    // Still alive, even if it finished during the step: begin_step() holds it.
    const auto* task = static_cast<const PromiseBase*>(node);
    const std::uintptr_t code = task_code(*task);
    const std::span<const std::uintptr_t> stack = state_.creation_stack(*task);
    std::string message = "task '" + task->display_name() + "' (coroutine " + code_name(code);
    if (const std::string site = creation_site(stack); !site.empty()) {
      message.append(", created at ").append(site);
    }
    message.append(")").append(held);
    // Once per coroutine: the creation stack shows where this one was spawned, the code
    // names the coroutine when there is no stack.
    report_warning(
        WarningKind::kSlowCallback, std::move(message),
        FindingContext{
            .stack = stack, .code = stack.empty() ? code : 0, .site = code, .task = task->id_});
  } catch (...) {  // NOLINT(bugprone-empty-catch): a finding must never break the loop
  }
}

}  // namespace loopscope::detail
