// The end of analyze(): ticks become nanoseconds, ids become names, and the accumulators
// become the Report (see analyzer.hpp).
#include "analyzer.hpp"
#include "text_format.hpp"

#include <algorithm>
#include <tuple>

namespace loopscope::viewer::detail {

namespace {

std::uint64_t since(std::uint64_t from, std::uint64_t to) {
  return to > from ? to - from : 0;
}

constexpr std::uint8_t kSlowCallback = 0, kStall = 1;

}  // namespace

std::string Analyzer::string_of(std::uint64_t id) const {
  const auto it = strings_.find(id);
  return it != strings_.end() ? it->second : std::string();
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

std::uint64_t Analyzer::since_start_ns(std::uint64_t ticks) const {
  return since(clock_.to_ns(first_tick_), clock_.to_ns(ticks));
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
    m.completed += s.completed;
    m.failed += s.failed;
    m.cancelled += s.cancelled;
    m.idle += s.idle;
    m.scheduled += s.scheduled;
    m.steps.merge(s.steps);
  }
  std::vector<SiteStats> out;
  for (const auto& [key, m] : merged) {
    SiteStats s;
    std::tie(s.function, s.file, s.line, s.spawned_in) = key;
    s.tasks = m.tasks;
    s.resumes = m.resumes;
    s.completed = m.completed;
    s.failed = m.failed;
    s.cancelled = m.cancelled;
    s.busy_ns = clock_.duration_ns(m.busy);
    s.max_step_ns = clock_.duration_ns(m.steps.max());
    s.p50_step_ns = clock_.duration_ns(m.steps.percentile(50));
    s.p99_step_ns = clock_.duration_ns(m.steps.percentile(99));
    s.idle_ns = clock_.duration_ns(m.idle);
    s.scheduled_ns = clock_.duration_ns(m.scheduled);
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
  e.time_ns = since_start_ns(w.ticks);
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

// The slow_callback or stall warning that explains a step: about its task (or, without a
// task, its thread), recorded while it ran or within one step length after it ended (the
// slow_callback check runs when the step is over).
const format::WarningRecord* Analyzer::stack_for(const StepSample& step) const {
  const std::uint64_t end = step.start + step.duration;
  const std::uint64_t slack = std::min(step.duration, UINT64_MAX - end);
  for (const format::WarningRecord& w : warnings_) {
    if (w.kind != kSlowCallback && w.kind != kStall) {
      continue;
    }
    const bool same =
        w.task != 0 ? static_cast<std::uint32_t>(w.task) == step.task : w.thread == step.thread;
    if (same && w.ticks >= step.start && w.ticks <= end + slack) {
      return &w;
    }
  }
  return nullptr;
}

std::vector<SlowStep> Analyzer::resolve_slowest() {
  std::vector<StepSample> steps;
  while (!slowest_.empty()) {
    steps.push_back(slowest_.top());
    slowest_.pop();
  }
  // Longest first; of equal ones, the earlier first.
  std::sort(steps.begin(), steps.end(), [](const StepSample& a, const StepSample& b) {
    return a.duration != b.duration ? a.duration > b.duration : a.start < b.start;
  });
  std::vector<SlowStep> out;
  for (const StepSample& s : steps) {
    SlowStep slow;
    slow.task = s.task;
    slow.thread = s.thread;
    const SiteAccum& site = sites_[s.site];
    slow.function = frame_of(site.coroutine).function;
    const Frame spawn = site.spawn == 0 ? Frame{} : frame_of(site.spawn);
    slow.file = spawn.file;
    slow.line = spawn.line;
    slow.spawned_in = spawn.function;
    slow.start_ns = since_start_ns(s.start);
    slow.duration_ns = clock_.duration_ns(s.duration);
    if (const format::WarningRecord* w = stack_for(s)) {
      const WarningEntry e = resolve_warning(*w);
      slow.stack_kind = e.kind;
      slow.stack = e.frames;
    }
    out.push_back(std::move(slow));
  }
  return out;
}

LagStats Analyzer::resolve_lag() const {
  LagStats lag{lag_.count(),        lag_.percentile(50), lag_.percentile(90),
               lag_.percentile(99), lag_.max(),          {}};
  const auto used = [](std::uint64_t n) { return n != 0; };
  const auto first = std::find_if(lag_buckets_.begin(), lag_buckets_.end(), used);
  if (first == lag_buckets_.end()) {
    return lag;
  }
  const auto last = std::find_if(lag_buckets_.rbegin(), lag_buckets_.rend(), used).base();
  for (auto it = first; it != last; ++it) {
    const auto i = static_cast<std::size_t>(it - lag_buckets_.begin());
    lag.histogram.push_back(
        LagBucket{i == 0 ? 0 : kLagBounds[i - 1], i < kLagBounds.size() ? kLagBounds[i] : 0, *it});
  }
  return lag;
}

std::vector<WaitStats> Analyzer::resolve_waits() const {
  std::vector<WaitStats> out;
  const auto add = [&](std::string reason, const WaitAccum& w) {
    out.push_back(WaitStats{std::move(reason), w.count, clock_.duration_ns(w.total),
                            clock_.duration_ns(w.max)});
  };
  for (std::size_t i = 0; i < waits_.size(); ++i) {
    if (waits_[i].count != 0 || waits_[i].total != 0) {
      add(std::string(format::kSuspendReasonNames[i]), waits_[i]);
    }
  }
  for (const auto& [reason, w] : other_waits_) {
    add("unknown_" + std::to_string(reason), w);
  }
  return out;
}

std::vector<Failure> Analyzer::resolve_failures() const {
  std::vector<Failure> out;
  out.reserve(failures_.size());
  for (const FailureSample& f : failures_) {
    Failure failure;
    failure.task = f.task;
    failure.thread = f.thread;
    failure.time_ns = since_start_ns(f.ticks);
    if (f.site < sites_.size()) {
      const SiteAccum& site = sites_[f.site];
      failure.function = frame_of(site.coroutine).function;
      const Frame spawn = site.spawn == 0 ? Frame{} : frame_of(site.spawn);
      failure.file = spawn.file;
      failure.line = spawn.line;
      failure.spawned_in = spawn.function;
    }
    failure.exception = demangle_type(string_of(f.type));
    failure.message = f.message;
    out.push_back(std::move(failure));
  }
  return out;
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
    report_.threads += t.has_events ? 1 : 0;
    if (!t.is_loop) {
      continue;
    }
    const std::uint64_t idle = clock_.duration_ns(t.idle);
    const std::uint64_t span = clock_.duration_ns(since(t.first, t.last));
    report_.loops.push_back(
        LoopStats{index, t.os_tid, t.name, since(idle, span), idle, t.iterations});
  }
  report_.slowest = resolve_slowest();
  for (const auto& w : warnings_) {
    report_.warnings.push_back(resolve_warning(w));
  }
  report_.lag = resolve_lag();
  report_.waits = resolve_waits();
  report_.failures = resolve_failures();
  return std::move(report_);
}

}  // namespace loopscope::viewer::detail
