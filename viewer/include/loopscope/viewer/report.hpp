// The report: what `loopscope report` shows, computed from one pass over a trace.
//
// analyze() reads a trace through TraceReader and builds a Report: task counts by outcome,
// per-site statistics (a site is a coroutine function together with the call site that
// spawned it: tasks, outcomes, resumes, busy time as the sum of its steps, step percentiles,
// and how long its tasks were suspended), per-loop busy and idle time (idle is the time
// between poll_begin and poll_end), the slowest steps with the stack of the slow_callback or
// stall warning recorded during them, every warning with its stack, the loop lag
// distribution with a histogram, and what tasks waited on (by suspend reason).
//
// Durations are nanoseconds (see ClockMap). A step is the time from task_resumed to the
// task_suspended or task_finished of the same task on the same thread; a drop on a thread
// discards its open step and poll window, since their end may be among the lost events.
//
// Suspended time, from task_suspended to the next task_resumed of the task, is split in two:
// `scheduled` is the part after the task became ready to run (it sat in the run queue, the
// loop being busy with others), `idle` the rest (it waited for something). The trace shows
// when a task became ready for four reasons: a yield is ready at once, a sleep when its timer
// fired, an await on another task when that task finished, a thread job when it finished.
// For the other reasons (queues, events, locks, I/O, ...) the trace does not say, and the
// whole suspension counts as idle.
//
// render_text() and render_json() print a Report; the JSON field names are part of the
// command-line interface (DESIGN.md, "Viewer").
//
// Memory: bounded by the number of sites, threads, live tasks, definitions and warnings,
// not by the number of events.
#pragma once

#include <loopscope/viewer/trace_reader.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
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
  std::uint64_t completed = 0, failed = 0, cancelled = 0;
  std::uint64_t busy_ns = 0, max_step_ns = 0, p50_step_ns = 0, p99_step_ns = 0;
  std::uint64_t idle_ns = 0;       // suspended, waiting for something
  std::uint64_t scheduled_ns = 0;  // suspended, ready to run but not yet resumed
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

// One of the longest task steps. `stack` comes from a slow_callback or stall warning about
// the same task (or, for warnings without a task, the same thread) recorded while the step
// ran or up to one step length after it; `stack_kind` names that warning, empty if none.
struct SlowStep {
  std::uint64_t task = 0;
  std::uint32_t thread = 0;
  std::string function;          // the coroutine
  std::string file, spawned_in;  // where it was spawned
  std::uint64_t line = 0;
  std::uint64_t start_ns = 0;  // since the first event of the trace
  std::uint64_t duration_ns = 0;
  std::string stack_kind;
  std::vector<Frame> stack;
};

// A task that failed: the type of its exception and what it said.
struct Failure {
  std::uint64_t task = 0;
  std::uint32_t thread = 0;
  std::string function;          // the coroutine
  std::string file, spawned_in;  // where it was spawned
  std::uint64_t line = 0;
  std::uint64_t time_ns = 0;  // since the first event of the trace
  std::string exception;      // the type, demangled; empty if not recorded
  std::string message;        // its what(): empty if none, or not recorded (version 1 traces)
};

struct LagBucket {
  std::uint64_t lo_ns = 0, hi_ns = 0;  // [lo, hi); hi 0 for the open last bucket
  std::uint64_t count = 0;
};

struct LagStats {
  std::uint64_t samples = 0, p50_ns = 0, p90_ns = 0, p99_ns = 0, max_ns = 0;
  std::vector<LagBucket> histogram;  // from the first to the last non-empty bucket
};

// Suspensions by reason: how many ended (the task resumed), and for how long in total.
struct WaitStats {
  std::string reason;
  std::uint64_t count = 0;  // task_suspended events
  std::uint64_t total_ns = 0, max_ns = 0;
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
  std::uint64_t threads = 0;  // threads with events, loops or not
  // What happened.
  TaskCounts tasks;
  std::uint64_t events = 0;
  std::uint64_t dropped = 0;
  std::vector<SiteStats> sites;        // by busy time, largest first (see sort_sites)
  std::vector<LoopStats> loops;        // by thread index
  std::vector<SlowStep> slowest;       // longest first
  std::vector<WarningEntry> warnings;  // in trace order
  std::uint64_t warnings_omitted = 0;  // beyond kMaxWarnings
  std::vector<Failure> failures;       // in trace order
  std::uint64_t failures_omitted = 0;  // beyond kMaxFailures
  LagStats lag;
  std::vector<WaitStats> waits;  // in reason order, reasons never seen left out
};

inline constexpr std::size_t kMaxWarnings = 100'000;
inline constexpr std::size_t kMaxFailures = 10'000;

struct AnalyzeOptions {
  std::size_t slowest = 20;  // how many of the longest steps to keep
};

Report analyze(TraceReader& reader, const AnalyzeOptions& options = {});

// The keys sites can be sorted by, largest first except `name` (alphabetical).
inline constexpr std::array<std::string_view, 9> kSiteSortKeys = {
    "busy", "tasks", "resumes", "max", "p99", "idle", "scheduled", "failed", "name"};
// Orders report.sites by `key` (one of kSiteSortKeys); returns false for an unknown key.
bool sort_sites(Report& report, std::string_view key);

// Loop utilization in percent: busy / (busy + idle) over every loop; 0 without loops.
double utilization_percent(const Report& report);

struct TextOptions {
  std::size_t top = 20;            // sites and slow steps shown
  bool color = false;              // ANSI colours
  std::string_view sort = "busy";  // what the sites were sorted by (a kSiteSortKeys entry)
};
void render_text(const Report& report, std::ostream& out, const TextOptions& options = {});
void render_json(const Report& report, std::ostream& out);

}  // namespace loopscope::viewer
