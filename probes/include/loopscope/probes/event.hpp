// The event schema: one definition shared by the recorder (probes) and the reader (viewer).
//
// Every scheduling point of a loop records one Event: a timestamp and a 64-bit header (32-bit
// `task`, 16-bit `arg`, kind, ext). An event that needs more than its `task` and `arg` fields
// is followed by `ext` EventExt records of 16 bytes each (two 64-bit words). In the loop
// thread's ring (ring.hpp) an event is its header word, its timestamp word, and its records'
// words; the compact forms below leave the timestamp out.
//
// Timestamps are raw ticks of the recording thread's clock (the TSC where it is invariant,
// otherwise CLOCK_MONOTONIC nanoseconds); the trace carries the calibration that turns them
// into nanoseconds.
//
// In the ring (never in a trace file), the high bits of `ext` mark compact forms that keep a
// step of a few nanoseconds from paying for a clock read and two or three words:
//   kUntimed  the event has no timestamp of its own: a reader places it between the timed
//             events around it (see ring_reader.hpp). Without kFolded it has no second word:
//             the header is the whole event (with its records, if any);
//   kFolded   (with kUntimed) the second word holds the first word of the event's extension:
//             its words are that one followed by those of the records that follow (the count
//             bits), regrouped in pairs; the last word is 0. One word less per event;
//   kStep     the event (a task_suspended or task_finished) ends a step whose task_resumed
//             was not written: it began when the event before it ended;
//   kSiteRef  (with kUntimed, on a task_created) the task comes from a spawn site and
//             coroutine recorded before: `arg` is the number that earlier task_created gave
//             them (its own `arg`). With kFolded the second word is the parent's id; without,
//             the event is its header alone and the parent is the task whose step it is in
//             (its task_resumed came before it in the ring). One or two words instead of six
//             for every spawn but the first from a site;
//   kSpawnRun (kSiteRef with kStep and kFolded, on a task_created) a run of spawns from one
//             numbered site inside one step, with ids that follow on: `task` is how many, the
//             second word the first one's id, `arg` the site's number, and the parent the
//             task whose step it is in. Two words for a loop of spawns, however long;
// and an event of kind kTimeMark is a timestamp that is no event: it closes the untimed
// events before it.
// ring_reader.hpp turns them back into the plain events a trace holds.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
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
                   //        {spawn function name, 0} (names: static strings)
  kTaskResumed,    // a step begins
  kTaskSuspended,  // a step ends with the task waiting; arg = SuspendReason;
                   // ext 1 (optional): {what it waits on: the awaited task's id, the fd,
                   // the job id, or object_address(queue, lock, ...), 0}
  kTaskFinished,   // arg = TaskState (done, failed, cancelled);
                   // ext 1 (failed): {exception type name (static mangled string), 0}
  // Callbacks and timers.
  kCallbackBegin,  // ext 1: {callback type name (static mangled string), 0}
  kCallbackEnd,
  kTimerFired,  // task = the task a sleep wakes (0 for a callback timer)
  // Work on other threads (to_thread). task = the awaiting task.
  kThreadJobQueued,    // at submission, on the loop thread; ext 1: {job id, 0}
  kThreadJobStarted,   // recorded on the loop thread when the job's completion arrives;
  kThreadJobFinished,  // ext 2: {job id, 0}, {ticks from when the worker started (finished)
                       // the job until this event, 0}
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
    case EventKind::kThreadJobStarted:
    case EventKind::kThreadJobFinished:
      return 2;
    case EventKind::kTaskSuspended:
    case EventKind::kTaskFinished:
    case EventKind::kCallbackBegin:
    case EventKind::kThreadJobQueued:
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
  std::uint8_t ext;  // EventExt records that follow (low bits), and the ring-only flags below
};

// The ring-only flags of Event::ext (see the top of this file).
inline constexpr std::uint8_t kExtCountMask = 0x0f;
inline constexpr std::uint8_t kSiteRef = 0x10;
inline constexpr std::uint8_t kFolded = 0x20;
inline constexpr std::uint8_t kUntimed = 0x40;
inline constexpr std::uint8_t kStep = 0x80;
inline constexpr std::uint8_t kSpawnRun = kSiteRef | kStep;  // with kUntimed and kFolded
inline constexpr EventKind kTimeMark = EventKind::kCount;

// Whether an event with these `ext` bits has a second word in a ring (its time, or the first
// word of its extension when folded), and how many words it takes there in all.
constexpr bool has_second_word(std::uint8_t ext) noexcept {
  return (ext & kUntimed) == 0 || (ext & kFolded) != 0;
}
constexpr std::uint32_t ring_words(std::uint8_t ext) noexcept {
  return 1u + (has_second_word(ext) ? 1u : 0u) + 2u * (ext & kExtCountMask);
}
// Whether a ring event is a run of spawns (kSpawnRun).
constexpr bool is_spawn_run(const Event& e) noexcept {
  return e.kind == EventKind::kTaskCreated && (e.ext & kSpawnRun) == kSpawnRun;
}
// Events of a trace a ring event stands for: a compact step is also its task_resumed, a run
// of spawns is `task` of them, and a time mark is none.
constexpr std::uint32_t trace_events(const Event& e) noexcept {
  if (e.kind == kTimeMark) {
    return 0;
  }
  if ((e.ext & kStep) == 0) {
    return 1;
  }
  return is_spawn_run(e) ? e.task : 2u;
}

// What task_suspended's extension holds when a task waits on an object (a queue, a lock, ...)
// rather than on something with a number of its own (a task id, an fd, a job id): the
// object's address with this bit set (user-space addresses never have it). The collector
// turns each address into a small number.
inline constexpr std::uint64_t kObjectAddressTag = std::uint64_t{1} << 63;
inline std::uint64_t object_address(const void* object) noexcept {
  return reinterpret_cast<std::uintptr_t>(object) | kObjectAddressTag;
}

struct EventExt {
  std::uint64_t a;
  std::uint64_t b;
};

static_assert(sizeof(Event) == 16 && std::is_trivially_copyable_v<Event>);
static_assert(offsetof(Event, task) == 8 && offsetof(Event, arg) == 12 &&
              offsetof(Event, kind) == 14 && offsetof(Event, ext) == 15);

// The header word of an Event (task, arg, kind, ext), built in a register so that an event
// is written with one or two plain stores (EventRing::append_words) rather than five.
constexpr std::uint64_t pack_header(std::uint32_t task, std::uint16_t arg, EventKind kind,
                                    std::uint8_t ext) noexcept {
  static_assert(std::endian::native == std::endian::little);
  return std::uint64_t{task} | std::uint64_t{arg} << 32 |
         std::uint64_t{static_cast<std::uint8_t>(kind)} << 48 | std::uint64_t{ext} << 56;
}
static_assert(sizeof(EventExt) == 16 && std::is_trivially_copyable_v<EventExt>);

// The Event of a header word, at `time` (pack_header() undone).
constexpr Event unpack_header(std::uint64_t header, std::uint64_t time = 0) noexcept {
  return Event{time, static_cast<std::uint32_t>(header), static_cast<std::uint16_t>(header >> 32),
               static_cast<EventKind>(static_cast<std::uint8_t>(header >> 48)),
               static_cast<std::uint8_t>(header >> 56)};
}

}  // namespace loopscope::probes
