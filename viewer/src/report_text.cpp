// The terminal rendering of a Report: an overview, then one section per topic, each skipped
// when it has nothing to say. The lag histogram and the waits are in report_text_lag.cpp.
#include "report_text.hpp"

#include "text_format.hpp"

#include <algorithm>

namespace loopscope::viewer::detail {

namespace {

std::string percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0
             ? std::string("-")
             : format("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

void utilization(const Report& r, std::ostream& out) {
  std::uint64_t busy = 0, idle = 0;
  for (const LoopStats& l : r.loops) {
    busy += l.busy_ns;
    idle += l.idle_ns;
  }
  out << "  threads   " << r.threads << (r.threads == 1 ? " thread, " : " threads, ")
      << r.loops.size() << (r.loops.size() == 1 ? " loop" : " loops");
  if (!r.loops.empty()) {
    out << ", utilization " << format("%.1f%%", utilization_percent(r)) << " (busy "
        << duration(busy) << ", idle " << duration(idle) << ")";
  }
  out << "\n";
}

void overview(const Report& r, std::ostream& out, const Style& st) {
  out << st.bold("loopscope report") << "\n";
  out << "  trace     pid " << r.pid << ", started " << wall_clock(r.start_unix_ns) << ", "
      << duration(r.duration_ns) << ", tick source " << r.tick_source << "\n";
  utilization(r, out);
  out << "  tasks     " << count(r.tasks.created) << " created, " << count(r.tasks.completed)
      << " completed, " << count(r.tasks.failed) << " failed, " << count(r.tasks.cancelled)
      << " cancelled\n";
  out << "  events    " << count(r.events) << " recorded, "
      << (r.dropped != 0 ? st.bad(count(r.dropped)) : std::string("0")) << " dropped\n";
  if (r.truncation) {
    out << "  " << st.warn("incomplete") << "  " << r.truncation->reason << " (at byte "
        << r.truncation->offset << ")\n";
  }
  if (!r.calibrated) {
    out << "  " << st.warn("uncalibrated") << " no clock calibration: durations are raw ticks\n";
  }
}

void loops(const Report& r, std::ostream& out, const Style& st) {
  if (r.loops.empty()) {
    return;
  }
  out << "\n" << st.bold("Loops") << "\n";
  out << st.dim(format("  %-8s %-16s %12s %12s %7s %11s", "thread", "name", "busy", "idle", "util",
                       "iterations"))
      << "\n";
  for (const LoopStats& l : r.loops) {
    out << format("  %-8u %-16s %12s %12s %7s %11s", l.thread, l.name.c_str(),
                  duration(l.busy_ns).c_str(), duration(l.idle_ns).c_str(),
                  percent(l.busy_ns, l.busy_ns + l.idle_ns).c_str(), count(l.iterations).c_str())
        << "\n";
  }
}

std::string sort_title(std::string_view key) {
  if (key == "busy") {
    return "busy time";
  }
  if (key == "max" || key == "p99") {
    return std::string(key) + " step";
  }
  if (key == "scheduled") {
    return "scheduled wait";
  }
  if (key == "idle") {
    return "idle time";
  }
  return std::string(key);
}

void site_row(const SiteStats& s, std::ostream& out, const Style& st) {
  out << format("  %7s %8s %10s %10s %10s %9s %9s %9s %5s %5s  ", count(s.tasks).c_str(),
                count(s.resumes).c_str(), duration(s.busy_ns).c_str(), duration(s.idle_ns).c_str(),
                duration(s.scheduled_ns).c_str(), duration(s.p50_step_ns).c_str(),
                duration(s.p99_step_ns).c_str(), duration(s.max_step_ns).c_str(),
                count(s.failed).c_str(), count(s.cancelled).c_str())
      << st.bold(short_name(s.function));
  if (!s.file.empty() || !s.spawned_in.empty()) {
    out << st.dim("  <- " + where(s.spawned_in, s.file, s.line));
  }
  out << "\n";
}

void sites(const Report& r, std::ostream& out, const Style& st, const TextOptions& options) {
  if (r.sites.empty()) {
    return;
  }
  const std::size_t shown = std::min(options.top, r.sites.size());
  out << "\n"
      << st.bold("Sites by " + sort_title(options.sort))
      << st.dim(format(" (top %zu of %zu)", shown, r.sites.size())) << "\n";
  out << st.dim(format("  %7s %8s %10s %10s %10s %9s %9s %9s %5s %5s  %s", "tasks", "resumes",
                       "busy", "idle", "sched", "p50 step", "p99 step", "max step", "fail", "canc",
                       "coroutine  <- spawned at"))
      << "\n";
  for (std::size_t i = 0; i < shown; ++i) {
    site_row(r.sites[i], out, st);
  }
  out << st.dim(
             "  idle: suspended, waiting for something; sched: ready to run, waiting for the loop")
      << "\n";
}

void frames(const std::vector<Frame>& stack, std::ostream& out, std::string_view indent) {
  for (const Frame& f : stack) {
    out << indent << "at " << where(f.function, f.file, f.line) << "\n";
  }
}

void slowest(const Report& r, std::ostream& out, const Style& st, std::size_t top) {
  if (r.slowest.empty()) {
    return;
  }
  const std::size_t shown = std::min(top, r.slowest.size());
  out << "\n" << st.bold("Slowest steps") << st.dim(format(" (top %zu)", shown)) << "\n";
  out << st.dim(format("  %10s %12s %7s %10s  %s", "duration", "at", "thread", "task",
                       "coroutine  <- spawned at"))
      << "\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const SlowStep& s = r.slowest[i];
    out << format("  %10s %12s %7u %10llu  ", duration(s.duration_ns).c_str(),
                  ("+" + duration(s.start_ns)).c_str(), s.thread,
                  static_cast<unsigned long long>(s.task))
        << st.bold(short_name(s.function));
    if (!s.file.empty() || !s.spawned_in.empty()) {
      out << st.dim("  <- " + where(s.spawned_in, s.file, s.line));
    }
    out << "\n";
    if (!s.stack_kind.empty()) {
      out << "      " << st.warn(s.stack_kind) << " stack:\n";
      frames(s.stack, out, "        ");
    }
  }
}

void warnings(const Report& r, std::ostream& out, const Style& st) {
  if (r.warnings.empty()) {
    return;
  }
  out << "\n" << st.bold("Warnings") << format(" (%zu)", r.warnings.size()) << "\n";
  for (const WarningEntry& w : r.warnings) {
    out << "  " << st.warn(w.kind) << ": " << w.message
        << st.dim(format("  [+%s, thread %u, task %llu]", duration(w.time_ns).c_str(), w.thread,
                         static_cast<unsigned long long>(w.task)))
        << "\n";
    frames(w.frames, out, "      ");
  }
  if (r.warnings_omitted != 0) {
    out << "  ... and " << count(r.warnings_omitted) << " more\n";
  }
}

}  // namespace

}  // namespace loopscope::viewer::detail

namespace loopscope::viewer {

void render_text(const Report& report, std::ostream& out, const TextOptions& options) {
  const detail::Style st{options.color};
  detail::overview(report, out, st);
  detail::loops(report, out, st);
  detail::sites(report, out, st, options);
  detail::slowest(report, out, st, options.top);
  detail::warnings(report, out, st);
  detail::render_failures(report, out, st, options.top);
  detail::render_lag(report, out, st);
  detail::render_waits(report, out, st);
}

}  // namespace loopscope::viewer
