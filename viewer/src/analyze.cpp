// analyze(): one pass over a trace, accumulating in ticks; conversion to nanoseconds and
// symbol resolution happen once at the end, when every clock_sync point and definition has
// been seen.
#include <loopscope/viewer/clock_map.hpp>
#include <loopscope/viewer/report.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <unordered_map>

namespace loopscope::viewer {

namespace {

using probes::EventKind;

struct SiteAccum {
  std::uint64_t coroutine = 0, spawn = 0;  // location ids
  std::uint64_t tasks = 0, resumes = 0, busy = 0;
  Distribution steps;  // ticks
};

struct ThreadAccum {
  std::uint64_t os_tid = 0;
  std::string name;
  bool has_events = false, is_loop = false;
  std::uint64_t first = 0, last = 0;
  bool polling = false, stepping = false;
  std::uint64_t poll_start = 0, idle = 0, iterations = 0;
  std::uint32_t step_task = 0, step_site = 0;
  std::uint64_t step_start = 0;
};

constexpr std::size_t kMaxSites = 1u << 16;
constexpr std::size_t kMaxFrames = 64;

std::uint64_t since(std::uint64_t from, std::uint64_t to) {
  return to > from ? to - from : 0;
}

class Analyzer final : public TraceVisitor {
 public:
  void on_header(const format::FileHeader& h) override {
    clock_.set_source(h.tick_source);
    report_.pid = h.pid;
    report_.start_unix_ns = h.start_unix_ns;
    report_.tick_source = h.tick_source == probes::TickSource::kTsc ? "tsc" : "monotonic_ns";
  }
  void on_clock_sync(std::span<const probes::ClockSync> points) override {
    for (const auto& p : points) {
      clock_.add(p);
    }
  }
  void on_thread(const format::ThreadInfo& t) override {
    ThreadAccum& a = threads_[t.index];
    a.os_tid = t.os_tid;
    a.name = t.name;
    cached_thread_ = nullptr;
  }
  void on_string(std::uint64_t id, std::string_view text) override {
    strings_.insert_or_assign(id, std::string(text));
  }
  void on_location(const format::Location& loc) override { locations_[loc.id] = loc; }
  void on_event(std::uint32_t thread, const format::Record& r) override;
  void on_drops(const format::Drops& d) override {
    dropped_ += d.count;
    ThreadAccum& t = thread(d.thread);
    t.polling = false;
    t.stepping = false;
  }
  void on_warning(const format::WarningRecord& w) override {
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
  void on_end(const format::EndInfo& end) override { end_dropped_ = end.dropped; }

  Report finish(const ReadResult& result);

 private:
  ThreadAccum& thread(std::uint32_t index) {
    if (cached_thread_ == nullptr || cached_index_ != index) {
      cached_thread_ = &threads_[index];
      cached_index_ = index;
    }
    return *cached_thread_;
  }
  std::uint32_t site_of_location(std::uint64_t coroutine, std::uint64_t spawn) {
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
  std::uint32_t site_of_task(std::uint32_t task) {
    const auto it = tasks_.find(task);
    return it != tasks_.end() ? it->second : site_of_location(0, 0);
  }
  void end_step(ThreadAccum& t, const format::Record& r) {
    if (t.stepping && t.step_task == r.task) {
      const std::uint64_t d = since(t.step_start, r.ticks);
      SiteAccum& s = sites_[t.step_site];
      s.busy += d;
      s.steps.add(d);
    }
    t.stepping = false;
  }
  std::string string_of(std::uint64_t id) const {
    const auto it = strings_.find(id);
    return it != strings_.end() ? it->second : std::string();
  }
  Frame frame_of(std::uint64_t location) const;
  std::vector<SiteStats> resolve_sites() const;
  WarningEntry resolve_warning(const format::WarningRecord& w) const;

  Report report_;
  ClockMap clock_;
  std::map<std::uint32_t, ThreadAccum> threads_;  // node-based: the cached pointer stays valid
  ThreadAccum* cached_thread_ = nullptr;
  std::uint32_t cached_index_ = 0;
  std::unordered_map<std::uint64_t, std::string> strings_;
  std::unordered_map<std::uint64_t, format::Location> locations_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint32_t> site_index_;
  std::vector<SiteAccum> sites_;
  std::unordered_map<std::uint32_t, std::uint32_t> tasks_;  // live task -> site
  std::array<std::uint64_t, format::kSuspendReasonNames.size()> reasons_{};
  std::map<std::uint16_t, std::uint64_t> other_reasons_;
  Distribution lag_;
  std::vector<format::WarningRecord> warnings_;
  std::uint64_t dropped_ = 0, end_dropped_ = 0, events_ = 0;
  bool any_event_ = false;
  std::uint64_t first_tick_ = 0, last_tick_ = 0;
};

void Analyzer::on_event(std::uint32_t thread_index, const format::Record& r) {
  ThreadAccum& t = thread(thread_index);
  // No clock reads 0; a zero timestamp is an event recorded before its thread had a clock,
  // and taking it as the start would stretch the trace back to the epoch of the clock.
  if (r.ticks != 0) {
    if (!t.has_events) {
      t.has_events = true;
      t.first = r.ticks;
    }
    t.last = std::max(t.last, r.ticks);
    first_tick_ = any_event_ ? std::min(first_tick_, r.ticks) : r.ticks;
    last_tick_ = std::max(last_tick_, r.ticks);
    any_event_ = true;
  }
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
    case EventKind::kTaskCreated: {
      ++report_.tasks.created;
      const std::uint32_t site = site_of_location(r.f[1], r.f[2]);
      ++sites_[site].tasks;
      tasks_[r.task] = site;
      break;
    }
    case EventKind::kTaskResumed:
      t.is_loop = true;
      t.stepping = true;
      t.step_task = r.task;
      t.step_start = r.ticks;
      t.step_site = site_of_task(r.task);
      ++sites_[t.step_site].resumes;
      break;
    case EventKind::kTaskSuspended:
      if (r.arg < reasons_.size()) {
        ++reasons_[r.arg];
      } else {
        ++other_reasons_[r.arg];
      }
      end_step(t, r);
      break;
    case EventKind::kTaskFinished:
      end_step(t, r);
      report_.tasks.completed += r.arg == 1 ? 1 : 0;
      report_.tasks.failed += r.arg == 2 ? 1 : 0;
      report_.tasks.cancelled += r.arg == 3 ? 1 : 0;
      tasks_.erase(r.task);
      break;
    case EventKind::kLagSample:
      lag_.add(r.f[0]);
      break;
    default:
      break;
  }
}

Frame Analyzer::frame_of(std::uint64_t location) const {
  if (location == UINT64_MAX) {
    return Frame{"<other sites>", "", 0};
  }
  const auto it = locations_.find(location);
  if (it == locations_.end()) {
    return Frame{location == 0 ? "<unknown>" : "<location " + std::to_string(location) + ">", "",
                 0};
  }
  std::string function = string_of(it->second.function);
  return Frame{function.empty() ? "<unknown>" : std::move(function), string_of(it->second.file),
               it->second.line};
}

std::vector<SiteStats> Analyzer::resolve_sites() const {
  // Several location ids may name the same function and spawn site (one per address).
  std::map<std::tuple<std::string, std::string, std::uint64_t, std::string>, SiteAccum> merged;
  for (const SiteAccum& s : sites_) {
    const Frame coroutine = frame_of(s.coroutine);
    const Frame spawn = s.spawn == 0 ? Frame{} : frame_of(s.spawn);
    SiteAccum& m = merged[{coroutine.function, spawn.file, spawn.line, spawn.function}];
    m.tasks += s.tasks;
    m.resumes += s.resumes;
    m.busy += s.busy;
    m.steps.merge(s.steps);
  }
  std::vector<SiteStats> out;
  for (const auto& [key, m] : merged) {
    SiteStats s;
    std::tie(s.function, s.file, s.line, s.spawned_in) = key;
    s.tasks = m.tasks;
    s.resumes = m.resumes;
    s.busy_ns = clock_.duration_ns(m.busy);
    s.max_step_ns = clock_.duration_ns(m.steps.max());
    s.p50_step_ns = clock_.duration_ns(m.steps.percentile(50));
    s.p99_step_ns = clock_.duration_ns(m.steps.percentile(99));
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const SiteStats& a, const SiteStats& b) { return a.busy_ns > b.busy_ns; });
  return out;
}

WarningEntry Analyzer::resolve_warning(const format::WarningRecord& w) const {
  WarningEntry e;
  e.kind = w.kind < format::kWarningKindNames.size()
               ? std::string(format::kWarningKindNames[w.kind])
               : "unknown_" + std::to_string(w.kind);
  e.message = w.message;
  e.thread = w.thread;
  e.task = w.task;
  e.time_ns = since(clock_.to_ns(first_tick_), clock_.to_ns(w.ticks));
  for (const std::uint64_t loc : w.frames) {
    e.frames.push_back(frame_of(loc));
  }
  if (!e.frames.empty()) {
    e.function = e.frames.front().function;
    e.file = e.frames.front().file;
    e.line = e.frames.front().line;
  }
  return e;
}

Report Analyzer::finish(const ReadResult& result) {
  report_.calibrated = clock_.calibrated();
  report_.complete = result.complete;
  report_.truncation = result.truncation;
  report_.events = events_;
  report_.dropped = std::max(dropped_, end_dropped_);
  report_.duration_ns = since(clock_.to_ns(first_tick_), clock_.to_ns(last_tick_));
  report_.sites = resolve_sites();
  for (const auto& [index, t] : threads_) {
    if (!t.is_loop) {
      continue;
    }
    const std::uint64_t idle = clock_.duration_ns(t.idle);
    const std::uint64_t span = clock_.duration_ns(since(t.first, t.last));
    report_.loops.push_back(
        LoopStats{index, t.os_tid, t.name, since(idle, span), idle, t.iterations});
  }
  for (const auto& w : warnings_) {
    report_.warnings.push_back(resolve_warning(w));
  }
  report_.lag = LagStats{lag_.count(), lag_.percentile(50), lag_.percentile(99), lag_.max()};
  for (std::size_t i = 0; i < reasons_.size(); ++i) {
    if (reasons_[i] != 0) {
      report_.suspend_reasons.push_back({std::string(format::kSuspendReasonNames[i]), reasons_[i]});
    }
  }
  for (const auto& [reason, count] : other_reasons_) {
    report_.suspend_reasons.push_back({"unknown_" + std::to_string(reason), count});
  }
  return std::move(report_);
}

}  // namespace

Report analyze(TraceReader& reader) {
  Analyzer analyzer;
  const ReadResult result = reader.read(analyzer);
  return analyzer.finish(result);
}

}  // namespace loopscope::viewer
