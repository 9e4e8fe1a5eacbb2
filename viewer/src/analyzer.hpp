// The visitor behind analyze(): one pass over a trace, accumulating in ticks. Conversion to
// nanoseconds and symbol resolution happen once at the end (analyze_resolve.cpp), when every
// clock_sync point and definition has been seen.
#pragma once

#include "flat_map.hpp"
#include <loopscope/viewer/clock_map.hpp>
#include <loopscope/viewer/report.hpp>

#include <array>
#include <map>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace loopscope::viewer::detail {

struct SiteAccum {
  std::uint64_t coroutine = 0, spawn = 0;  // location ids
  std::uint64_t tasks = 0, resumes = 0, busy = 0;
  std::uint64_t completed = 0, failed = 0, cancelled = 0;
  std::uint64_t idle = 0, scheduled = 0;  // ticks
  Distribution steps;                     // ticks
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

// A live task: its site, and while it is suspended since when, why, and since when it has
// been ready to run (0: not known to be ready).
struct TaskState {
  std::uint32_t site = 0;
  std::uint32_t awaited = 0;  // the task it awaits (await_task), 0 if none
  std::uint16_t reason = 0;
  bool suspended = false;
  std::uint64_t suspended_at = 0, ready_at = 0;
};

// A failed task's end: when, where, and the string id of its exception's type.
struct FailureSample {
  std::uint64_t ticks = 0, type = 0;
  std::uint32_t task = 0, thread = 0, site = 0;
  std::string message;
};

struct WaitAccum {
  std::uint64_t count = 0, total = 0, max = 0;  // ticks
};

struct StepSample {
  std::uint64_t duration = 0, start = 0;  // ticks
  std::uint32_t task = 0, thread = 0, site = 0;
  bool operator>(const StepSample& o) const noexcept { return duration > o.duration; }
};

// Lag histogram bounds: 1-2-5 steps from 100 ns to 10 s.
inline constexpr std::array<std::uint64_t, 25> kLagBounds = {
    100,         200,           500,           1'000,         2'000,
    5'000,       10'000,        20'000,        50'000,        100'000,
    200'000,     500'000,       1'000'000,     2'000'000,     5'000'000,
    10'000'000,  20'000'000,    50'000'000,    100'000'000,   200'000'000,
    500'000'000, 1'000'000'000, 2'000'000'000, 5'000'000'000, 10'000'000'000};

class Analyzer final : public TraceVisitor {
 public:
  explicit Analyzer(const AnalyzeOptions& options) : options_(options) {}

  void on_header(const format::FileHeader& h) override;
  void on_clock_sync(std::span<const probes::ClockSync> points) override {
    for (const auto& p : points) {
      clock_.add(p);
    }
  }
  void on_thread(const format::ThreadInfo& t) override;
  void on_string(std::uint64_t id, std::string_view text) override {
    strings_.insert_or_assign(id, std::string(text));
  }
  void on_location(const format::Location& loc) override { locations_[loc.id] = loc; }
  void on_event(std::uint32_t thread, const format::Record& r) override { handle(thread, r); }
  void on_events(std::uint32_t thread, std::span<const format::Record> events) override {
    for (const format::Record& r : events) {
      handle(thread, r);
    }
  }
  void on_drops(const format::Drops& d) override;
  void on_warning(const format::WarningRecord& w) override;
  void on_task_error(const format::TaskError& e) override;
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
  std::uint32_t site_of_location(std::uint64_t coroutine, std::uint64_t spawn);
  TaskState& task_state(std::uint32_t task);
  void handle(std::uint32_t thread_index, const format::Record& r);
  void note_time(ThreadAccum& t, std::uint64_t ticks);
  void on_created(const format::Record& r);
  void on_resumed(ThreadAccum& t, const format::Record& r);
  void on_suspended(ThreadAccum& t, std::uint32_t thread_index, const format::Record& r);
  void on_finished(ThreadAccum& t, std::uint32_t thread_index, const format::Record& r);
  void note_failure(std::uint32_t thread_index, const format::Record& r, std::uint32_t site);
  void mark_ready(std::uint32_t task, std::uint64_t ticks);
  void end_step(ThreadAccum& t, std::uint32_t thread_index, const format::Record& r);
  void add_lag(std::uint64_t ns);

  // Resolution (analyze_resolve.cpp).
  [[nodiscard]] std::string string_of(std::uint64_t id) const;
  [[nodiscard]] Frame frame_of(std::uint64_t location) const;
  [[nodiscard]] std::vector<SiteStats> resolve_sites() const;
  [[nodiscard]] WarningEntry resolve_warning(const format::WarningRecord& w) const;
  [[nodiscard]] std::vector<SlowStep> resolve_slowest();
  [[nodiscard]] const format::WarningRecord* stack_for(const StepSample& step) const;
  [[nodiscard]] LagStats resolve_lag() const;
  [[nodiscard]] std::vector<WaitStats> resolve_waits() const;
  [[nodiscard]] std::vector<Failure> resolve_failures() const;
  [[nodiscard]] std::uint64_t since_start_ns(std::uint64_t ticks) const;

  AnalyzeOptions options_;
  Report report_;
  ClockMap clock_;
  std::map<std::uint32_t, ThreadAccum> threads_;  // node-based: the cached pointer stays valid
  ThreadAccum* cached_thread_ = nullptr;
  std::uint32_t cached_index_ = 0;
  std::unordered_map<std::uint64_t, std::string> strings_;
  std::unordered_map<std::uint64_t, format::Location> locations_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint32_t> site_index_;
  std::vector<SiteAccum> sites_;
  FlatMap<TaskState> tasks_;  // live tasks
  // Tasks suspended on awaiting a live task, by the awaited task.
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> waiters_;
  std::array<WaitAccum, format::kSuspendReasonNames.size()> waits_{};
  std::map<std::uint16_t, WaitAccum> other_waits_;
  std::priority_queue<StepSample, std::vector<StepSample>, std::greater<>> slowest_;
  Distribution lag_;
  std::array<std::uint64_t, kLagBounds.size() + 1> lag_buckets_{};
  std::vector<format::WarningRecord> warnings_;
  // Failures kept (the first kMaxFailures), by (thread, task) the index of each, and the
  // messages of task_error chunks that came before their task's end.
  std::vector<FailureSample> failures_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::size_t> failure_index_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::string> early_messages_;
  std::uint64_t dropped_ = 0, end_dropped_ = 0, events_ = 0;
  bool any_event_ = false;
  std::uint64_t first_tick_ = 0, last_tick_ = 0;
};

}  // namespace loopscope::viewer::detail
