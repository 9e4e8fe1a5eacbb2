// analyze(): the event handling of the one pass over a trace (see analyzer.hpp).
#include "analyzer.hpp"

#include <algorithm>

namespace loopscope::viewer {

namespace detail {

namespace {

using probes::EventKind;

constexpr std::size_t kMaxSites = 1u << 16;
constexpr std::size_t kMaxFrames = 64;
constexpr std::uint16_t kYield = 1, kAwaitTask = 3;
constexpr std::uint16_t kDone = 1, kFailed = 2, kCancelled = 3;

std::uint64_t since(std::uint64_t from, std::uint64_t to) {
  return to > from ? to - from : 0;
}

}  // namespace

void Analyzer::on_header(const format::FileHeader& h) {
  clock_.set_source(h.tick_source);
  report_.pid = h.pid;
  report_.start_unix_ns = h.start_unix_ns;
  report_.tick_source = h.tick_source == probes::TickSource::kTsc ? "tsc" : "monotonic_ns";
}

void Analyzer::on_thread(const format::ThreadInfo& t) {
  ThreadAccum& a = threads_[t.index];
  a.os_tid = t.os_tid;
  a.name = t.name;
  cached_thread_ = nullptr;
}

void Analyzer::on_drops(const format::Drops& d) {
  dropped_ += d.count;
  ThreadAccum& t = thread(d.thread);
  t.polling = false;
  t.stepping = false;
}

void Analyzer::on_warning(const format::WarningRecord& w) {
  if (warnings_.size() < kMaxWarnings) {
    warnings_.push_back(w);
    // A stack deeper than this says nothing more, and the cap bounds memory.
    if (warnings_.back().frames.size() > kMaxFrames) {
      warnings_.back().frames.resize(kMaxFrames);
    }
  } else {
    ++report_.warnings_omitted;
  }
}

void Analyzer::on_task_error(const format::TaskError& e) {
  // Task ids in events are their low 32 bits.
  const auto key = std::make_pair(e.thread, std::uint64_t{static_cast<std::uint32_t>(e.task)});
  if (const auto it = failure_index_.find(key); it != failure_index_.end()) {
    failures_[it->second].message = std::string(e.message);
  } else if (early_messages_.size() < kMaxFailures) {
    early_messages_.insert_or_assign(key, std::string(e.message));
  }
}

void Analyzer::note_failure(std::uint32_t thread_index, const format::Record& r,
                            std::uint32_t site) {
  const auto key = std::make_pair(thread_index, std::uint64_t{r.task});
  const auto early = early_messages_.find(key);
  if (failures_.size() >= kMaxFailures) {
    ++report_.failures_omitted;
    if (early != early_messages_.end()) {
      early_messages_.erase(early);
    }
    return;
  }
  FailureSample f{r.ticks, r.f[0], r.task, thread_index, site, {}};
  if (early != early_messages_.end()) {
    f.message = std::move(early->second);
    early_messages_.erase(early);
  }
  failure_index_.insert_or_assign(key, failures_.size());
  failures_.push_back(std::move(f));
}

std::uint32_t Analyzer::site_of_location(std::uint64_t coroutine, std::uint64_t spawn) {
  if (sites_.size() >= kMaxSites && !site_index_.contains({coroutine, spawn})) {
    // Far more sites than any program has: a hostile trace; fold the rest together.
    coroutine = spawn = UINT64_MAX;
  }
  const auto [it, added] =
      site_index_.try_emplace({coroutine, spawn}, static_cast<std::uint32_t>(sites_.size()));
  if (added) {
    SiteAccum& s = sites_.emplace_back();
    s.coroutine = coroutine;
    s.spawn = spawn;
  }
  return it->second;
}

// A task whose task_created is not in the trace (it came before tracing started, or was
// dropped) belongs to the unknown site.
TaskState& Analyzer::task_state(std::uint32_t task) {
  if (TaskState* s = tasks_.find(task)) {
    return *s;
  }
  const std::uint32_t unknown = site_of_location(0, 0);
  return *tasks_.try_emplace(task, TaskState{.site = unknown}).first;
}

void Analyzer::note_time(ThreadAccum& t, std::uint64_t ticks) {
  // No clock reads 0; a zero timestamp is an event recorded before its thread had a clock,
  // and taking it as the start would stretch the trace back to the epoch of the clock.
  if (ticks == 0) {
    return;
  }
  if (!t.has_events) {
    t.has_events = true;
    t.first = ticks;
  }
  t.last = std::max(t.last, ticks);
  first_tick_ = any_event_ ? std::min(first_tick_, ticks) : ticks;
  last_tick_ = std::max(last_tick_, ticks);
  any_event_ = true;
}

void Analyzer::handle(std::uint32_t thread_index, const format::Record& r) {
  ThreadAccum& t = thread(thread_index);
  note_time(t, r.ticks);
  ++events_;
  switch (r.kind) {
    case EventKind::kPollBegin:
      t.is_loop = true;
      t.polling = true;
      t.poll_start = r.ticks;
      break;
    case EventKind::kPollEnd:
      if (t.polling) {
        t.idle += since(t.poll_start, r.ticks);
        t.polling = false;
      }
      t.is_loop = true;
      ++t.iterations;
      break;
    case EventKind::kTaskCreated:
      on_created(r);
      break;
    case EventKind::kTaskResumed:
      on_resumed(t, r);
      break;
    case EventKind::kTaskSuspended:
      on_suspended(t, thread_index, r);
      break;
    case EventKind::kTaskFinished:
      on_finished(t, thread_index, r);
      break;
    case EventKind::kTimerFired:
      // A sleep's timer: the task it wakes is ready from here.
      if (r.task != 0) {
        mark_ready(r.task, r.ticks);
      }
      break;
    case EventKind::kThreadJobFinished:
      // The awaiting task is ready from when the worker finished (f[1] ticks before this).
      if (r.task != 0) {
        mark_ready(r.task, r.ticks > r.f[1] ? r.ticks - r.f[1] : r.ticks);
      }
      break;
    case EventKind::kLagSample:
      add_lag(r.f[0]);
      break;
    default:
      break;
  }
}

void Analyzer::on_created(const format::Record& r) {
  ++report_.tasks.created;
  const std::uint32_t site = site_of_location(r.f[1], r.f[2]);
  ++sites_[site].tasks;
  tasks_.insert_or_assign(r.task, TaskState{.site = site});
}

void Analyzer::on_resumed(ThreadAccum& t, const format::Record& r) {
  TaskState& s = task_state(r.task);
  t.is_loop = true;
  t.stepping = true;
  t.step_task = r.task;
  t.step_start = r.ticks;
  t.step_site = s.site;
  SiteAccum& site = sites_[s.site];
  ++site.resumes;
  if (!s.suspended) {
    return;
  }
  const std::uint64_t suspended = since(s.suspended_at, r.ticks);
  const std::uint64_t scheduled =
      s.ready_at != 0 ? since(std::max(s.ready_at, s.suspended_at), r.ticks) : 0;
  site.scheduled += scheduled;
  site.idle += suspended - scheduled;
  WaitAccum& w = s.reason < waits_.size() ? waits_[s.reason] : other_waits_[s.reason];
  w.total += suspended;
  w.max = std::max(w.max, suspended);
  s.suspended = false;
  s.awaited = 0;
}

void Analyzer::on_suspended(ThreadAccum& t, std::uint32_t thread_index, const format::Record& r) {
  ++(r.arg < waits_.size() ? waits_[r.arg] : other_waits_[r.arg]).count;
  end_step(t, thread_index, r);
  TaskState& s = task_state(r.task);
  s.suspended = true;
  s.suspended_at = r.ticks;
  s.reason = r.arg;
  s.ready_at = r.arg == kYield ? std::max<std::uint64_t>(r.ticks, 1) : 0;
  s.awaited = 0;
  const auto awaited = static_cast<std::uint32_t>(r.f[0]);
  if (r.arg == kAwaitTask && awaited != 0 && awaited != r.task && tasks_.contains(awaited)) {
    s.awaited = awaited;
    std::vector<std::uint32_t>& list = waiters_[awaited];
    if (list.empty() || list.back() != r.task) {
      list.push_back(r.task);
    }
  }
}

void Analyzer::on_finished(ThreadAccum& t, std::uint32_t thread_index, const format::Record& r) {
  end_step(t, thread_index, r);
  report_.tasks.completed += r.arg == kDone ? 1 : 0;
  report_.tasks.failed += r.arg == kFailed ? 1 : 0;
  report_.tasks.cancelled += r.arg == kCancelled ? 1 : 0;
  std::uint32_t site_index = UINT32_MAX;  // a task whose creation is not in the trace
  if (const TaskState* s = tasks_.find(r.task)) {
    site_index = s->site;
    SiteAccum& site = sites_[s->site];
    site.completed += r.arg == kDone ? 1 : 0;
    site.failed += r.arg == kFailed ? 1 : 0;
    site.cancelled += r.arg == kCancelled ? 1 : 0;
    tasks_.erase(r.task);
  }
  if (r.arg == kFailed) {
    note_failure(thread_index, r, site_index);
  }
  if (const auto w = waiters_.find(r.task); w != waiters_.end()) {
    for (const std::uint32_t waiter : w->second) {
      TaskState* s = tasks_.find(waiter);
      if (s != nullptr && s->suspended && s->awaited == r.task && s->ready_at == 0) {
        s->ready_at = std::max<std::uint64_t>(r.ticks, 1);
      }
    }
    waiters_.erase(w);
  }
}

void Analyzer::mark_ready(std::uint32_t task, std::uint64_t ticks) {
  TaskState* s = tasks_.find(task);
  if (s != nullptr && s->suspended && s->ready_at == 0) {
    s->ready_at = std::max<std::uint64_t>(ticks, 1);
  }
}

void Analyzer::end_step(ThreadAccum& t, std::uint32_t thread_index, const format::Record& r) {
  if (t.stepping && t.step_task == r.task) {
    const std::uint64_t d = since(t.step_start, r.ticks);
    SiteAccum& s = sites_[t.step_site];
    s.busy += d;
    s.steps.add(d);
    if (options_.slowest != 0 &&
        (slowest_.size() < options_.slowest || d > slowest_.top().duration)) {
      slowest_.push(StepSample{d, t.step_start, t.step_task, thread_index, t.step_site});
      if (slowest_.size() > options_.slowest) {
        slowest_.pop();
      }
    }
  }
  t.stepping = false;
}

void Analyzer::add_lag(std::uint64_t ns) {
  lag_.add(ns);
  const auto bucket =
      std::upper_bound(kLagBounds.begin(), kLagBounds.end(), ns) - kLagBounds.begin();
  ++lag_buckets_[static_cast<std::size_t>(bucket)];
}

}  // namespace detail

Report analyze(TraceReader& reader, const AnalyzeOptions& options) {
  detail::Analyzer analyzer(options);
  const ReadResult result = reader.read(analyzer);
  return analyzer.finish(result);
}

}  // namespace loopscope::viewer
