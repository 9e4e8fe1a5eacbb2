#include "export_timeline.hpp"

#include "text_format.hpp"

#include <algorithm>

namespace loopscope::viewer::detail {

namespace {

using probes::EventKind;

const std::string kUnknown = "<unknown>";
constexpr std::uint16_t kTaskFailed = 2;  // task_finished's arg (docs/trace-format.md)

// Callback type names are recorded mangled (typeid names); symbols are already readable.
std::string readable(std::string_view text) {
  return short_name(demangle_type(text));
}

}  // namespace

// ---- Catalog ----

void Catalog::on_header(const format::FileHeader& h) {
  clock_.set_source(h.tick_source);
  pid_ = h.pid;
}

void Catalog::on_clock_sync(std::span<const probes::ClockSync> points) {
  for (const auto& p : points) {
    clock_.add(p);
    points_.push_back(p);
  }
}

void Catalog::finish() {
  origin_ns_ = any_event_ ? clock_.to_ns(first_tick_) : 0;
  if (!clock_.calibrated() || clock_.source() != probes::TickSource::kTsc) {
    return;
  }
  // As ClockMap: sorted by ticks, the first of equal ticks kept.
  std::stable_sort(points_.begin(), points_.end(),
                   [](const auto& a, const auto& b) { return a.ticks < b.ticks; });
  points_.erase(std::unique(points_.begin(), points_.end(),
                            [](const auto& a, const auto& b) { return a.ticks == b.ticks; }),
                points_.end());
  for (std::size_t i = 0; i + 1 < points_.size(); ++i) {
    const auto& a = points_[i];
    const auto& b = points_[i + 1];
    segments_.push_back(
        Segment{a.ticks, a.monotonic_ns,
                (static_cast<double>(b.monotonic_ns) - static_cast<double>(a.monotonic_ns)) /
                    static_cast<double>(b.ticks - a.ticks)});
  }
  points_.clear();
  points_.shrink_to_fit();
}

std::uint64_t Catalog::segment_ns(std::uint64_t ticks) const noexcept {
  std::size_t i = hint_;
  // Outside the points the first and last segments extrapolate.
  const bool fits = (i == 0 || ticks >= segments_[i].ticks) &&
                    (i + 1 == segments_.size() || ticks < segments_[i + 1].ticks);
  if (!fits) {
    const auto upper =
        std::upper_bound(segments_.begin(), segments_.end(), ticks,
                         [](std::uint64_t t, const Segment& s) { return t < s.ticks; });
    i = upper == segments_.begin() ? 0 : static_cast<std::size_t>(upper - segments_.begin()) - 1;
    hint_ = i;
  }
  // The offset from the segment's start in double, the sum in integers: exact to the
  // nanosecond however large the clock's values.
  const Segment& s = segments_[i];
  if (ticks >= s.ticks) {
    const double offset = static_cast<double>(ticks - s.ticks) * s.slope + 0.5;
    // A corrupt trace can make the slope negative or NaN: no offset then.
    std::uint64_t add = 0;
    if (offset >= 1.8e19) {
      add = UINT64_MAX;
    } else if (offset > 0.0) {
      add = static_cast<std::uint64_t>(offset);
    }
    return add > UINT64_MAX - s.ns ? UINT64_MAX : s.ns + add;
  }
  const double offset = static_cast<double>(s.ticks - ticks) * s.slope - 0.5;
  std::uint64_t sub = 0;
  if (offset >= 1.8e19) {
    sub = UINT64_MAX;
  } else if (offset > 0.0) {
    sub = static_cast<std::uint64_t>(offset);
  }
  return sub >= s.ns ? 0 : s.ns - sub;
}

void Catalog::on_thread(const format::ThreadInfo& t) {
  CatalogThread& c = threads_[t.index];
  c.index = t.index;
  c.os_tid = t.os_tid;
  c.name = t.name;
}

void Catalog::on_string(std::uint64_t id, std::string_view text) {
  strings_.insert_or_assign(id, std::string(text));
}

void Catalog::on_event(std::uint32_t thread, const format::Record& r) {
  on_events(thread, std::span<const format::Record>(&r, 1));
}

// A batch at a time: the kinds seen and the earliest timestamp, then the thread's flags once.
void Catalog::on_events(std::uint32_t thread, std::span<const format::Record> events) {
  std::uint32_t kinds = 0;
  std::uint64_t first = UINT64_MAX;
  for (const format::Record& r : events) {
    kinds |= 1u << static_cast<unsigned>(r.kind);
    // Zero is "no clock yet" (see analyze()).
    if (r.ticks != 0 && r.ticks < first) {
      first = r.ticks;
    }
  }
  CatalogThread& t = thread_entry(thread);
  const auto has = [kinds](EventKind k) { return (kinds & (1u << static_cast<unsigned>(k))) != 0; };
  t.has_events = t.has_events || !events.empty();
  t.is_loop = t.is_loop || has(EventKind::kPollBegin) || has(EventKind::kTaskResumed);
  t.has_slices = t.has_slices || has(EventKind::kTaskResumed) || has(EventKind::kCallbackBegin);
  if (first != UINT64_MAX) {
    note_first_tick(first);
  }
}

bool Catalog::on_events_chunk(std::uint32_t thread, std::uint64_t count,
                              std::uint64_t first_ticks) {
  // Zero ticks are "no clock yet": the first real time is further in, so decode the chunk.
  if (event_kinds_ || first_ticks == 0) {
    return true;
  }
  CatalogThread& t = thread_entry(thread);
  t.has_events = t.has_events || count != 0;
  if (count != 0) {
    note_first_tick(first_ticks);
  }
  return false;
}

CatalogThread& Catalog::thread_entry(std::uint32_t thread) {
  if (cached_ == nullptr || cached_index_ != thread) {
    cached_ = &threads_[thread];
    cached_->index = thread;
    cached_index_ = thread;
  }
  return *cached_;
}

void Catalog::note_first_tick(std::uint64_t ticks) noexcept {
  if (!any_event_ || ticks < first_tick_) {
    first_tick_ = ticks;
    any_event_ = true;
  }
}

void Catalog::on_task_name(const format::TaskName& name) {
  task_names_.insert_or_assign(static_cast<std::uint32_t>(name.task), std::string(name.name));
}

void Catalog::on_task_error(const format::TaskError& error) {
  task_errors_.insert_or_assign(static_cast<std::uint32_t>(error.task), std::string(error.message));
}

std::string Catalog::failure(std::uint32_t task, std::uint64_t type) const {
  std::string text = type != 0 ? readable(string(type)) : std::string();
  if (text.empty()) {
    text = "unknown exception";
  }
  if (const auto it = task_errors_.find(task); it != task_errors_.end() && !it->second.empty()) {
    text += ": " + it->second;
  }
  return text;
}

const std::string& Catalog::name(NameKey key) const {
  const auto it = names_.find(key);
  if (it != names_.end()) {
    return it->second;
  }
  std::string text;
  if (key == kNameThreadJob) {
    text = "thread job";
  } else if (key == kNameSpawn) {
    text = "spawn";
  } else if (key != 0) {
    text = readable(string(key));
  }
  if (text.empty()) {
    text = kUnknown;
  }
  return names_.emplace(key, std::move(text)).first->second;
}

std::string_view Catalog::string(std::uint64_t id) const {
  const auto it = strings_.find(id);
  return it != strings_.end() ? std::string_view(it->second) : std::string_view();
}

const format::Location* Catalog::location(std::uint64_t id) const {
  const auto it = locations_.find(id);
  return it != locations_.end() ? &it->second : nullptr;
}

std::uint64_t Catalog::function_of(std::uint64_t location_id) const {
  const format::Location* loc = location(location_id);
  return loc != nullptr ? loc->function : 0;
}

std::string_view Catalog::task_name(std::uint32_t task) const {
  const auto it = task_names_.find(task);
  return it != task_names_.end() ? std::string_view(it->second) : std::string_view();
}

std::string Catalog::file_line(std::uint64_t location_id) const {
  const format::Location* loc = location(location_id);
  if (loc == nullptr || string(loc->file).empty()) {
    return {};
  }
  std::string out(string(loc->file));
  if (loc->line != 0) {
    out += ":" + std::to_string(loc->line);
  }
  return out;
}

// ---- Timeline ----

void Timeline::close(ThreadState& t, std::uint64_t ns, int reason) {
  if (t.open) {
    t.open = false;
    handler_.slice_end(t.slice, ns, reason);
  }
}

void Timeline::open(ThreadState& t, std::uint32_t index, std::uint64_t ns, SliceKind kind,
                    std::uint32_t task, NameKey name) {
  close(t, ns, -1);  // its end was lost
  t.open = true;
  t.slice = Slice{index, kind, task, name, ns, 0};
  ++slices_;
}

void Timeline::resumed(ThreadState& t, std::uint32_t index, std::uint64_t ns, std::uint32_t task) {
  NameKey name = 0;
  std::uint64_t flow = 0;
  if (TaskInfo* info = tasks_live_.find(task)) {
    name = info->name;
    flow = std::exchange(info->flow, 0);
  }
  open(t, index, ns, SliceKind::kStep, task, name);
  t.slice.flow_in = flow;
  handler_.slice_begin(t.slice);
}

void Timeline::created(std::uint32_t index, std::uint64_t ns, const format::Record& r) {
  ThreadState& t = thread(index);
  // A flow needs a slice to start from: a task spawned outside any step has none.
  const std::uint64_t flow = t.open ? next_flow_++ : 0;
  tasks_live_.insert_or_assign(r.task, TaskInfo{catalog_.function_of(r.f[1]), flow, ns, index});
  ++tasks_;
  handler_.task_created(index, ns, r.task, r.f[1], flow);
}

// Thread job events carry how long before them the worker started (finished) the job: a
// runtime records both when the job's completion reaches the loop.
void Timeline::job(std::uint32_t index, const format::Record& r) {
  const std::uint64_t at = catalog_.to_ns(r.ticks > r.f[1] ? r.ticks - r.f[1] : 0);
  const std::pair<std::uint32_t, std::uint64_t> key{index, r.f[0]};
  if (r.kind == EventKind::kThreadJobStarted) {
    // Thousands of jobs in flight at once is a hostile trace; forget the oldest.
    if (jobs_.size() >= 65'536) {
      jobs_.erase(jobs_.begin());
    }
    jobs_.insert_or_assign(key, at);
    return;
  }
  const auto it = jobs_.find(key);
  const std::uint64_t begin = it != jobs_.end() ? std::min(it->second, at) : at;
  if (it != jobs_.end()) {
    jobs_.erase(it);
  }
  handler_.thread_job(index, r.task, begin, at);
}

void Timeline::handle(std::uint32_t index, const format::Record& r) {
  ThreadState& t = thread(index);
  switch (r.kind) {
    case EventKind::kTaskResumed:
      resumed(t, index, time(t, r.ticks), r.task);
      break;
    case EventKind::kTaskSuspended:
      // The reason belongs to the step it ends, not to a callback whose end was lost.
      close(t, time(t, r.ticks), t.open && t.slice.kind == SliceKind::kStep ? r.arg : -1);
      break;
    case EventKind::kTaskFinished: {
      const std::uint64_t ns = time(t, r.ticks);
      close(t, ns, -1);
      if (const TaskInfo* info = tasks_live_.find(r.task)) {
        // A task may finish on another thread than it was created on, whose clock may be a
        // little behind: its span must not end before it began.
        const std::uint64_t end = std::max(ns, info->created_ns);
        tasks_live_.erase(r.task);
        handler_.task_finished(index, end, r.task, r.arg,
                               r.arg == kTaskFailed ? catalog_.failure(r.task, r.f[0]) : "");
      }
      break;
    }
    case EventKind::kCallbackBegin:
      open(t, index, time(t, r.ticks), SliceKind::kCallback, 0, r.f[0]);
      handler_.slice_begin(t.slice);
      break;
    case EventKind::kCallbackEnd:
      close(t, time(t, r.ticks), -1);
      break;
    case EventKind::kThreadJobStarted:
    case EventKind::kThreadJobFinished:
      job(index, r);
      break;
    case EventKind::kTaskCreated:
      created(index, time(t, r.ticks), r);
      break;
    case EventKind::kLagSample:
      handler_.lag(index, time(t, r.ticks), r.f[0]);
      break;
    default:
      break;
  }
}

void Timeline::on_drops(const format::Drops& d) {
  ThreadState& t = thread(d.thread);
  close(t, time(t, d.ticks_before), -1);
}

void Timeline::finish() {
  for (auto& [index, t] : threads_) {
    close(t, t.last_ns, -1);
  }
  // Tasks still pending at the end: their spans end with the trace.
  std::uint64_t end_ns = 0;
  for (const auto& [index, t] : threads_) {
    end_ns = std::max(end_ns, t.last_ns);
  }
  // In task order, so that an export does not depend on the hash table's layout.
  std::vector<std::pair<std::uint32_t, const TaskInfo*>> pending;
  tasks_live_.for_each(
      [&](std::uint32_t task, const TaskInfo& info) { pending.emplace_back(task, &info); });
  std::sort(pending.begin(), pending.end());
  for (const auto& [task, info] : pending) {
    handler_.task_finished(info->thread, std::max(end_ns, info->created_ns), task, 0, "");
  }
  tasks_live_.clear();
}

ReadResult read_catalog(TraceReader& reader, Catalog& catalog) {
  ReadResult result = reader.read(catalog);
  catalog.finish();
  return result;
}

ReadResult read_timeline(TraceReader& reader, const Catalog& catalog, TimelineHandler& handler,
                         std::uint64_t* slices, std::uint64_t* tasks) {
  Timeline timeline(catalog, handler);
  ReadResult result = reader.read(timeline);
  timeline.finish();
  if (slices != nullptr) {
    *slices = timeline.slices();
  }
  if (tasks != nullptr) {
    *tasks = timeline.tasks();
  }
  return result;
}

}  // namespace loopscope::viewer::detail
