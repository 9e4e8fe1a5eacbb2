// Findings about a task's life: destroyed while pending, a swallowed cancellation, an
// unbounded fan-out, an async generator closed by its consumer's cancellation, and a loop
// method called from another thread. In debug mode each carries the stack the coroutine was
// created with (creation_stacks.hpp), or for thread_safety the calling thread's stack.

#include "debug_state.hpp"
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/probes/recorder.hpp>
#include <loopscope/probes/stack.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace loopscope::detail {

namespace {

// "task 'Task-7' (coroutine fetch(std::string))": how asyncio names a task in its findings.
std::string describe_task(const PromiseBase& task) {
  return "task '" + task.display_name() + "' (coroutine " + code_name(frame_code(task.self_)) + ")";
}

void report_about_task(WarningKind kind, std::string message, const PromiseBase& task) noexcept {
  const std::uintptr_t code = frame_code(task.self_);
  report_warning(
      kind, std::move(message),
      FindingContext{.stack = creation_stack(task), .code = code, .site = code, .task = task.id_});
}

// Reports the fan-out of `site` from another thread (deferred_reports.hpp): it fires in the
// middle of the burst of spawns it is about.
[[gnu::cold]] void report_fanout(DebugState& debug, const PromiseBase& task,
                                 const SpawnSite& site) {
  const std::span<const std::uintptr_t> stack = debug.creation_stack(task);
  probes::Recorder* const recorder = debug.loop.recorder();
  const std::uint64_t ticks = recorder != nullptr ? recorder->now() : 0;  // at the spawn
  debug.deferred_reports.post([stack = std::vector<std::uintptr_t>(stack.begin(), stack.end()),
                               code = site.code,
                               where = std::string(site.file) + ":" + std::to_string(site.line),
                               live = site.live, id = task.id_, recorder, ticks] {
    report_warning(WarningKind::kUnboundedFanout,
                   std::to_string(live) + " live tasks spawned at " + where + " (coroutine " +
                       code_name(code) + "): bound the fan-out with a Semaphore",
                   // Once per spawn site, whatever its coroutine.
                   FindingContext{.stack = stack,
                                  .code = code,
                                  .site = std::hash<std::string>{}(where),
                                  .task = id,
                                  .recorder = recorder,
                                  .ticks = ticks});
  });
}

}  // namespace

void report_destroyed_pending(const PromiseBase& task) noexcept {
  try {
    report_about_task(WarningKind::kDestroyedPending,
                      "Task was destroyed but it is pending: " + describe_task(task), task);
  } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
  }
}

void report_group_destroyed_pending(const PromiseBase& first, std::size_t pending) noexcept {
  try {
    report_about_task(WarningKind::kDestroyedPending,
                      "TaskGroup destroyed with " + std::to_string(pending) +
                          " pending task(s) that were never joined; cancelling them (the first: " +
                          describe_task(first) + ")",
                      first);
  } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
  }
}

void report_misuse(WarningKind kind, std::string message, std::uintptr_t code) noexcept {
  std::array<std::uintptr_t, 24> frames{};
  const std::size_t depth = probes::capture_stack(frames, 1);  // from the caller on
  report_warning(
      kind, std::move(message),
      FindingContext{.stack = std::span<const std::uintptr_t>(frames).first(depth), .code = code});
}

void report_wrong_thread(const Loop& loop, const char* what) noexcept {
  std::array<std::uintptr_t, 24> frames{};
  std::size_t depth = 0;
  if (loop.debug_state() != nullptr) {
    // The calling thread's stack: the user's call that should have been posted instead.
    depth = probes::capture_stack(frames, 1);  // from the caller of this function on
  }
  try {
    report_warning(WarningKind::kThreadSafety,
                   std::string(what) + "() called from a thread that is not the loop's",
                   FindingContext{.stack = std::span<const std::uintptr_t>(frames).first(depth),
                                  .recorder = loop.recorder()});
  } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
  }
}

void note_task_spawned(PromiseBase& task, const SourceLocation& site) noexcept {
  DebugState* debug = task.loop_->debug_state();
  try {
    const std::uint32_t stack =
        (task.debug_id_ & OriginTable::kOriginBit) != 0 ? 0 : task.debug_id_;
    std::uintptr_t code = 0;  // the resume function, which a frame starts with
    std::memcpy(&code, task.self_.address(), sizeof(code));
    const std::uint32_t origin = debug->origins.intern(stack, site, code);
    if (origin == 0) {
      return;  // the table is full: this task goes uncounted
    }
    task.debug_id_ = origin;
    SpawnSite& spawned_at = *debug->origins.last_site();
    if (++spawned_at.live > debug->fanout_limit && !spawned_at.reported) [[unlikely]] {
      spawned_at.reported = true;
      report_fanout(*debug, task, spawned_at);
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory: the task goes uncounted
  }
}

void note_task_finishing(PromiseBase& task) noexcept {
  DebugState* debug = task.loop_->debug_state();
  if (SpawnSite* site = debug->origins.site_of(task.debug_id_)) {
    --site->live;
  }
  // A cancellation was delivered (requested and no longer pending), not withdrawn with
  // uncancel() (as timeout() does), and yet the task returned: something caught the
  // CancelledError and carried on, so whoever cancelled it believes it stopped.
  if (task.state_ == TaskState::kDone && task.cancel_requests_ > 0 && !task.cancel_pending_)
      [[unlikely]] {
    try {
      report_about_task(WarningKind::kSwallowedCancellation,
                        describe_task(task) +
                            " was cancelled but finished normally: CancelledError was caught and "
                            "not re-raised",
                        task);
    } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
    }
  }
}

void note_generator_closed(std::coroutine_handle<> frame, std::uint32_t debug_id,
                           bool on_next) noexcept {
  if (!on_next) {
    // Destroyed: a loss only if the consumer carries on. A consumer that is itself being
    // cancelled (its CancelledError unwinding through the generator's owner) loses nothing
    // it still wanted; one whose cancellation was withdrawn (timeout() around next()) does.
    const Loop* loop = t_current_loop;
    const PromiseBase* consumer = loop != nullptr ? loop->current_task() : nullptr;
    if (consumer == nullptr || consumer->cancel_requests_ > 0) {
      return;
    }
  }
  try {
    const DebugState* debug = t_debug_state;
    const std::uintptr_t code = frame_code(frame);
    report_warning(WarningKind::kGeneratorClosedByCancellation,
                   "async generator " + code_name(code) +
                       " was closed while suspended because its consumer was cancelled (timeout "
                       "around next()): the rest of the stream is lost",
                   FindingContext{.stack = debug != nullptr ? debug->stack_of(debug_id)
                                                            : std::span<const std::uintptr_t>{},
                                  .code = code,
                                  .site = code});
  } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
  }
}

}  // namespace loopscope::detail
