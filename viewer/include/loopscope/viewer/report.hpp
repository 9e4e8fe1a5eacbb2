// The report: what `loopscope report` shows, computed from one pass over a trace.
//
// analyze() reads a trace through TraceReader and builds a Report: task counts by outcome,
// per-site statistics (a site is a coroutine function together with the call site that
// spawned it: tasks, resumes, busy time as the sum of its steps, step percentiles), per-loop
// busy and idle time (idle is the time between poll_begin and poll_end), every warning with
// its location, the loop lag distribution, and how often tasks waited on each kind of thing.
// Durations are nanoseconds (see ClockMap). A step is the time from task_resumed to the
// task_suspended or task_finished of the same task on the same thread; a drop on a thread
// discards its open step and poll window, since their end may be among the lost events.
//
// render_text() and render_json() print a Report; the JSON field names are part of the
// command-line interface (DESIGN.md, "Viewer").
//
// Memory: bounded by the number of sites, threads, live tasks, definitions and warnings,
// not by the number of events.
#pragma once

#include <loopscope/viewer/trace_reader.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace loopscope::viewer {

struct TaskCounts {
  std::uint64_t created = 0, completed = 0, failed = 0, cancelled = 0;
};

struct SiteStats {
  std::string function;  // the coroutine
  std::string file;      // where it was spawned
  std::uint64_t line = 0;
  std::string spawned_in;  // the function containing the spawn site
  std::uint64_t tasks = 0, resumes = 0;
  std::uint64_t busy_ns = 0, max_step_ns = 0, p50_step_ns = 0, p99_step_ns = 0;
};

struct LoopStats {
  std::uint32_t thread = 0;
  std::uint64_t os_tid = 0;
  std::string name;
  std::uint64_t busy_ns = 0, idle_ns = 0;
  std::uint64_t iterations = 0;  // poll_end events
};

struct Frame {
  std::string function, file;
  std::uint64_t line = 0;
};

struct WarningEntry {
  std::string kind;  // snake_case check name, "unknown_<n>" for kinds this viewer lacks
  std::string message;
  std::string function, file;  // the innermost frame, empty if none
  std::uint64_t line = 0;
  std::uint32_t thread = 0;
  std::uint64_t task = 0;
  std::uint64_t time_ns = 0;  // since the first event of the trace
  std::vector<Frame> frames;
};

struct LagStats {
  std::uint64_t samples = 0, p50_ns = 0, p99_ns = 0, max_ns = 0;
};

struct ReasonCount {
  std::string reason;
  std::uint64_t count = 0;
};

struct Report {
  // The trace itself.
  std::uint32_t pid = 0;
  std::uint64_t start_unix_ns = 0;
  std::string tick_source;  // "tsc" or "monotonic_ns"
  bool calibrated = true;   // false: durations are raw ticks
  std::uint64_t duration_ns = 0;
  bool complete = false;
  std::optional<Truncation> truncation;
  // What happened.
  TaskCounts tasks;
  std::uint64_t events = 0;
  std::uint64_t dropped = 0;
  std::vector<SiteStats> sites;        // by busy time, largest first
  std::vector<LoopStats> loops;        // by thread index
  std::vector<WarningEntry> warnings;  // in trace order
  std::uint64_t warnings_omitted = 0;  // beyond kMaxWarnings
  LagStats lag;
  std::vector<ReasonCount> suspend_reasons;  // in reason order, zero counts left out
};

inline constexpr std::size_t kMaxWarnings = 100'000;

Report analyze(TraceReader& reader);

struct TextOptions {
  std::size_t top = 20;  // sites shown
  bool color = false;
};
void render_text(const Report& report, std::ostream& out, const TextOptions& options = {});
void render_json(const Report& report, std::ostream& out);

}  // namespace loopscope::viewer
