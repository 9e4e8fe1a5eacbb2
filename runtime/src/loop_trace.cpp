// The loop's traced paths: what it records about steps, callbacks, timers and to_thread jobs
// while a trace is written (run_once() hands a batch here instead of running it plainly).
//
// Reading the clock (rdtsc: 7-9 ns on a VM) costs more than a short step (a yield: 6 ns), so
// a traced batch reads it once per *window* of steps, not once per step. The steps inside a
// window are recorded untimed, each in one ring word (two with what it waits on) that also
// stands for its task_resumed (probes/event.hpp: kUntimed, kFolded, kStep), and the collector
// spreads the window's time over them (probes/ring_reader.hpp). The window adapts after each one:
// it holds as many steps as take about kWindowReads clock reads' worth of time, so the clock costs
// about 1/kWindowReads of the loop's time, and when steps are long (or one was) it shrinks to a
// single step, which is then timed exactly. Counts are always exact; a short step's busy
// time is its window's share.
//
// The ends of the short steps of a window skip the ring's room check (the ring keeps room for
// a window's worth of them: EventRing::takes_unchecked()); a window opens only where it has
// that room, and is one step otherwise.
//
// Every clock read starts a new window. Reads also happen at both ends of a callback, around
// a poll that may wait, once per timer phase that fires anything, and before the first step
// after a system call the loop made outside a timed poll (anchor_), so that the loop's own
// work between steps is no step's time.
#include "run_step.hpp"
#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

namespace loopscope {

namespace {

using probes::EventExt;
using probes::EventKind;

// A window lasts about this many clock reads' worth of time...
constexpr std::uint64_t kWindowReads = 128;
// ... and holds at most this many steps, which bounds how far one long step inside a window
// of short ones is spread.
constexpr std::uint32_t kMaxWindow = 128;
static_assert(std::size_t{2} * kMaxWindow <= probes::Recorder::kUncheckedWords,
              "the ring must take a window of step ends (two words each) unchecked");

std::uint64_t address_of(const void* p) noexcept {
  return reinterpret_cast<std::uintptr_t>(p);
}

}  // namespace

std::uint32_t Loop::open_window() noexcept {
  probes::EventRing& ring = recorder_->ring();
  if (!ring.takes_unchecked()) [[unlikely]] {
    window_ = 1;  // near the ring's end or a full ring: one step, checked
  } else {
    ring.prefetch_run(std::size_t{2} * window_);  // for the unchecked step ends, two words each
  }
  return window_;
}

std::uint64_t Loop::trace_tick() noexcept {
  window_left_ = open_window();
  return recorder_->tick();
}

void Loop::run_ready_traced(detail::ReadyNode* batch) {
  probes::Recorder& rec = *recorder_;
  if (anchor_) {
    anchor_ = false;
    rec.record_time_mark(trace_tick());
  }
  while (detail::ReadyNode* node = batch) {
    batch = node->next_ready;
    if (node->is_callback) [[unlikely]] {
      run_callback_traced(static_cast<detail::CallbackNode*>(node));
      window_left_ = open_window();
      continue;
    }
    auto* task = static_cast<detail::PromiseBase*>(node);
    run_step(task);  // the frame may be gone afterwards if the task finished
    // The window is over, or the step was marked (mark_step()).
    if (--window_left_ == 0) [[unlikely]] {
      if ((step_marks_ & kStepEnded) != 0) {
        // The common mark, inside a window: the task returned in one step (a spawned task
        // that never suspends), and its end, which stands for its task_resumed too, is
        // written (note_task_finished()).
        step_marks_ = 0;
        window_left_ = marked_left_ - 1;
        continue;
      }
      window_left_ = record_step_end(task);
      continue;
    }
    // The common case, kept to a few loads and one or two stores: a step that suspended,
    // inside a window, recorded untimed as one word (two with what it waits on) that stands
    // for its task_resumed too, with no room check (open_window()). The task is pending, so
    // its frame lives: its id is read now, not kept across the step.
    const auto id = static_cast<std::uint32_t>(task->id_);
    const detail::WaitNode* wait = task->wait_;
    if (wait == nullptr) {
      rec.record_untimed_unchecked(EventKind::kTaskSuspended, id,
                                   static_cast<std::uint16_t>(detail::SuspendReason::kYield),
                                   probes::kStep);
    } else {
      rec.record_untimed_folded_unchecked(EventKind::kTaskSuspended, id,
                                          static_cast<std::uint16_t>(wait->reason), wait->object,
                                          probes::kStep);
    }
  }
}

std::uint32_t Loop::record_step_end(detail::PromiseBase* task) noexcept {
  probes::Recorder& rec = *recorder_;
  end_spawn_run(next_task_id_);
  // Steps left in the window after this one: none, unless marks cut the countdown short.
  const std::uint32_t left = step_marks_ != 0 ? marked_left_ - 1 : 0;
  // An event inside the step wrote its task_resumed: its end stands for nothing more.
  const std::uint8_t flags = (step_marks_ & kStepResumedWritten) != 0 ? 0 : probes::kStep;
  const bool finished = (step_marks_ & kStepFinished) != 0;
  const std::uint32_t id = finished ? step_task_ : static_cast<std::uint32_t>(task->id_);
  step_marks_ = 0;
  EventKind kind = EventKind::kTaskFinished;
  auto arg = static_cast<std::uint16_t>(step_state_);
  std::uint64_t value = address_of(step_exception_type_);
  if (!finished) {
    const detail::WaitNode* wait = task->wait_;  // the task is suspended: its frame lives
    kind = EventKind::kTaskSuspended;
    arg =
        static_cast<std::uint16_t>(wait != nullptr ? wait->reason : detail::SuspendReason::kYield);
    value = wait != nullptr ? wait->object : 0;
  }
  if (left != 0) {
    rec.record_untimed_end_unchecked(kind, id, arg, value, flags);
    return left;
  }
  // The window is over: read the clock, and size the next window from this one's time.
  const std::uint64_t start = rec.step_ticks();
  const std::uint64_t ticks = rec.tick();
  const std::uint64_t elapsed = ticks > start ? ticks - start : 1;
  const std::uint64_t fit = window_ * kWindowReads * rec.tick_cost() / elapsed;
  // A small ring has less unchecked room (EventRing): two words a step.
  const std::uint64_t most =
      std::clamp<std::uint64_t>(rec.ring().unchecked_words() / 2, 1, kMaxWindow);
  window_ = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(fit, 1, most));
  rec.record_step_end(kind, ticks, id, arg, value, flags);
  rec.publish();
  return open_window();
}

void Loop::run_callback_traced(detail::CallbackNode* callback) {
  probes::Recorder& rec = *recorder_;
  rec.record(EventKind::kCallbackBegin, rec.tick(), 0, 0,
             EventExt{address_of(callback->type_name()), 0});
  callback->run();
  rec.record(EventKind::kCallbackEnd, rec.tick(), 0);
  rec.publish();
}

void Loop::record_resumed_in_step() noexcept {
  // The step's end would stand for its task_resumed, but this event belongs after it. Once
  // the end is written (kStepEnded: the task finished, and something its end set off, a
  // frame's destructor say, spawns), the events that follow it name their task themselves.
  if ((step_marks_ & (kStepResumedWritten | kStepEnded)) == 0) {
    // Marked written even when dropped (the drop counts it): the step's end must not stand
    // for it again. Only one in the ring lets later events leave out the step's task.
    const bool in_ring = recorder_->record_untimed(EventKind::kTaskResumed,
                                                   static_cast<std::uint32_t>(current_->id_), 0);
    mark_step(static_cast<std::uint8_t>(kStepResumedWritten | (in_ring ? kStepResumedInRing : 0)));
  }
}

void Loop::note_task_failed(const detail::PromiseBase& task) noexcept {
  step_exception_type_ = detail::exception_type_name(task.exception_);
  try {
    recorder_->record_task_error(task.id_, detail::exception_message(task.exception_));
  } catch (...) {  // out of memory: the message goes unrecorded, the program on
  }
}

void Loop::end_spawn_run(std::uint64_t end) noexcept {
  if ((step_marks_ & kStepSpawnRun) == 0) {
    return;
  }
  step_marks_ = static_cast<std::uint8_t>(step_marks_ & ~kStepSpawnRun);
  const std::uint16_t number = run_site_->number;
  for (std::uint64_t first = run_first_; first < end;) {
    const auto count = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(end - first, std::numeric_limits<std::uint32_t>::max()));
    if (count == 1) {
      recorder_->record_created_in_step(static_cast<std::uint32_t>(first), number);
    } else {
      recorder_->record_created_run(first, count, number);
    }
    first += count;
  }
}

void Loop::record_task_created_slow(detail::PromiseBase* task,
                                    const SourceLocation& site) noexcept {
  const std::uintptr_t resume_fn = detail::coroutine_code(task->self_);
  const detail::PromiseBase* parent = current_;
  const std::uint64_t parent_id = parent != nullptr ? parent->id_ : 0;
  const auto id = static_cast<std::uint32_t>(task->id_);
  if (parent != nullptr) {
    // Inside a step: at the step's beginning, like every event in it. The first spawn from
    // a site is folded into six words (the extension's words are parent, resume, file,
    // line, function, 0) and numbers the site; a later one starts a run of spawns, which
    // takes one or two words however long it grows (two words each when the step's
    // task_resumed was dropped).
    record_resumed_in_step();
    end_spawn_run(task->id_);  // a run ends before this task, which comes from elsewhere
    const std::size_t slot = spawn_site_index(resume_fn, site);
    SpawnSite& first = spawn_sites_[slot];
    SpawnSite& second = spawn_sites_[kSpawnSlots + slot];
    const bool in_first = first.is(resume_fn, site);
    if (in_first || second.is(resume_fn, site)) {
      if (!in_first) {
        std::swap(first, second);  // the latest site of the slot is checked inline
      }
      if ((step_marks_ & kStepResumedInRing) != 0) {
        run_site_ = &first;  // a run of spawns starts (record_task_created())
        run_first_ = task->id_;
        step_marks_ |= kStepSpawnRun;
      } else {
        recorder_->record_created_at_site(id, first.number, parent_id);
      }
      return;
    }
    const std::uint16_t number = next_spawn_site_;
    const bool written = recorder_->record_untimed_folded(
        EventKind::kTaskCreated, id, number, parent_id,
        std::array<EventExt, 2>{EventExt{resume_fn, address_of(site.file)},
                                EventExt{site.line, address_of(site.function)}});
    if (written && number != 0) {  // a dropped one numbers nothing
      second = first;
      first = SpawnSite{resume_fn, site.file, site.function, site.line, number};
      ++next_spawn_site_;
    }
  } else {
    // In a callback, or run() spawning the main task.
    recorder_->record(EventKind::kTaskCreated, recorder_->tick(), id, 0,
                      std::array<EventExt, 3>{EventExt{parent_id, resume_fn},
                                              EventExt{address_of(site.file), site.line},
                                              EventExt{address_of(site.function), 0}});
  }
}

void Loop::fire_due_timers_traced(TimePoint now) {
  probes::Recorder& rec = *recorder_;
  const std::uint64_t ticks = trace_tick();  // one reading for the phase
  while (!timers_.empty() && timers_.top()->deadline <= now) {
    detail::TimerNode* timer = timers_.pop();
    // What the timer queued tells which task it woke (a sleep's, a timeout's target).
    detail::ReadyNode* const before = ready_.back();
    timer->fire(timer);
    detail::ReadyNode* const after = ready_.back();
    std::uint32_t task = 0;
    if (after != before && after != nullptr && !after->is_callback) {
      task = static_cast<std::uint32_t>(static_cast<detail::PromiseBase*>(after)->id_);
    }
    rec.record(EventKind::kTimerFired, ticks, task);
  }
  rec.publish();
  anchor_ = true;  // firing took time of its own
}

std::uint64_t Loop::trace_job_queued() noexcept {
  if (recorder_ == nullptr || current_ == nullptr) {
    return 0;
  }
  const std::uint64_t job = next_job_id_++;
  record_resumed_in_step();
  end_spawn_run(next_task_id_);  // a run's spawns came first
  recorder_->record_untimed_folded(EventKind::kThreadJobQueued,
                                   static_cast<std::uint32_t>(current_->id_), 0, job);
  return job;
}

void Loop::trace_job_done(std::uint64_t task, std::uint64_t job, std::uint64_t started,
                          std::uint64_t finished) noexcept {
  if (recorder_ == nullptr || job == 0 || started == 0) {
    return;
  }
  // Recorded while the loop handles the job's completion (a callback, whose reading this
  // is); each event says how long before it the worker did what it reports.
  probes::Recorder& rec = *recorder_;
  const std::uint64_t now = rec.step_ticks();
  const auto before_now = [now](std::uint64_t t) { return t < now ? now - t : 0; };
  const auto id = static_cast<std::uint32_t>(task);
  rec.record(EventKind::kThreadJobStarted, now, id, 0,
             std::array<EventExt, 2>{EventExt{job, 0}, EventExt{before_now(started), 0}});
  rec.record(EventKind::kThreadJobFinished, now, id, 0,
             std::array<EventExt, 2>{EventExt{job, 0}, EventExt{before_now(finished), 0}});
}

}  // namespace loopscope
