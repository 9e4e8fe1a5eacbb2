// The event schema: one definition shared by the recorder (probes) and the reader (viewer).
//
// Every scheduling point of a loop writes one Event: 16 bytes, trivially copyable, into the
// loop thread's ring. An event that needs more than its 32-bit `task` and 16-bit `arg`
// fields is followed by `ext` EventExt records of 16 bytes each (two 64-bit words), in the
// same ring, so the ring stays an array of equal slots.
//
// Timestamps are raw ticks of the recording thread's clock (the TSC where it is invariant,
// otherwise CLOCK_MONOTONIC nanoseconds); the trace carries the calibration that turns them
// into nanoseconds.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace loopscope::probes {

enum class EventKind : std::uint8_t {
  // Loop.
  kPollBegin,  // the loop starts waiting for I/O or timers (idle from here)
  kPollEnd,    // ... and stops; arg = number of I/O events
  // Tasks. task = the task's id (low 32 bits).
  kTaskCreated,    // ext 3: {parent id, coroutine resume address}, {spawn file name, line},
                   //        {spawn function name, full task id} (names: static strings)
  kTaskResumed,    // a step begins
  kTaskSuspended,  // a step ends with the task waiting; arg = SuspendReason;
                   // ext 1 (optional): {what it waits on (task id, fd, object address), 0}
  kTaskFinished,   // arg = TaskState (done, failed, cancelled);
                   // ext 1 (failed): {exception type name (static mangled string), 0}
  // Callbacks and timers.
  kCallbackBegin,  // ext 1: {callback type name (static mangled string), 0}
  kCallbackEnd,
  kTimerFired,  // task = the task a sleep wakes (0 for a callback timer)
  // Work on other threads. task = the awaiting task; ext 1: {job id, 0}.
  kThreadJobQueued,
  kThreadJobStarted,
  kThreadJobFinished,
  // Scheduling delay of the loop; ext 1: {lag in ns, 0}.
  kLagSample,
  kCount,
};

// Names used in traces, reports and exports; checked against the enum below.
inline constexpr std::array<std::string_view, static_cast<std::size_t>(EventKind::kCount)>
    kEventKindNames = {
        "poll_begin",     "poll_end",          "task_created",       "task_resumed",
        "task_suspended", "task_finished",     "callback_begin",     "callback_end",
        "timer_fired",    "thread_job_queued", "thread_job_started", "thread_job_finished",
        "lag_sample",
};

// Number of EventExt records an event of `kind` carries at most.
constexpr std::uint8_t max_ext(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::kTaskCreated:
      return 3;
    case EventKind::kTaskSuspended:
    case EventKind::kTaskFinished:
    case EventKind::kCallbackBegin:
    case EventKind::kThreadJobQueued:
    case EventKind::kThreadJobStarted:
    case EventKind::kThreadJobFinished:
    case EventKind::kLagSample:
      return 1;
    default:
      return 0;
  }
}

struct Event {
  std::uint64_t time;  // clock ticks
  std::uint32_t task;  // task id (low 32 bits), 0 for none
  std::uint16_t arg;   // kind-specific
  EventKind kind;
  std::uint8_t ext;  // EventExt records that follow
};

struct EventExt {
  std::uint64_t a;
  std::uint64_t b;
};

static_assert(sizeof(Event) == 16 && std::is_trivially_copyable_v<Event>);
static_assert(sizeof(EventExt) == 16 && std::is_trivially_copyable_v<EventExt>);

}  // namespace loopscope::probes
