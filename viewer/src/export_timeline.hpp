// What the three exports share: the first pass (Catalog) and the second (Timeline).
//
// Catalog reads the trace once for what a streaming writer needs before it meets it: every
// clock_sync point (a writer flushes events before the calibration that covers them), thread
// names, task names (written after the task's events), and the string and location tables.
//
// Timeline reads the trace again and turns raw events into a clean stream for a
// TimelineHandler: slices (task steps, callbacks) that are balanced and never overlap on a
// thread, with non-decreasing times per thread; task creations with a flow id when a slice
// spawned them, the flow's end on the task's first step; task completions; thread jobs (when
// the worker ran them, for the task that awaited them); warnings and lag samples. Slices
// still open at the end of the trace are closed at the last time of their thread; so are
// tasks, with state 0 (pending).
#pragma once

#include "flat_map.hpp"
#include <loopscope/viewer/clock_map.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace loopscope::viewer::detail {

// The name of a slice: a string id of the trace (a coroutine's function, a callback's type),
// or one of the fixed names below, or 0 for "unknown".
using NameKey = std::uint64_t;
inline constexpr NameKey kNameThreadJob = (NameKey{1} << 63) | 1;
inline constexpr NameKey kNameSpawn = (NameKey{1} << 63) | 2;

struct CatalogThread {
  std::uint32_t index = 0;
  std::uint64_t os_tid = 0;
  std::string name;
  bool has_events = false, is_loop = false;
  bool has_slices = false;  // steps or callbacks
};

class Catalog final : public TraceVisitor {
 public:
  // With `event_kinds` false, the pass learns only which threads have events and when the
  // first was, from the chunks' headers, without decoding them (is_loop and has_slices stay
  // false): what the Perfetto export needs, at a fraction of the cost.
  explicit Catalog(bool event_kinds = true) : event_kinds_(event_kinds) {}

  void on_header(const format::FileHeader& h) override;
  void on_clock_sync(std::span<const probes::ClockSync> points) override;
  void on_thread(const format::ThreadInfo& t) override;
  void on_string(std::uint64_t id, std::string_view text) override;
  void on_location(const format::Location& loc) override { locations_[loc.id] = loc; }
  void on_event(std::uint32_t thread, const format::Record& r) override;
  void on_events(std::uint32_t thread, std::span<const format::Record> events) override;
  bool on_events_chunk(std::uint32_t thread, std::uint64_t count,
                       std::uint64_t first_ticks) override;
  void on_task_name(const format::TaskName& name) override;
  void on_task_error(const format::TaskError& error) override;

  [[nodiscard]] std::uint32_t pid() const noexcept { return pid_; }
  [[nodiscard]] const std::map<std::uint32_t, CatalogThread>& threads() const noexcept {
    return threads_;
  }
  // Nanoseconds: CLOCK_MONOTONIC, and since the first event of the trace.
  [[nodiscard]] std::uint64_t to_ns(std::uint64_t ticks) const noexcept {
    if (segments_.empty()) {
      return clock_.to_ns(ticks);  // nanosecond ticks, or too few points to interpolate
    }
    // The segment of the previous conversion, most often the right one, inline.
    const Segment& s = segments_[hint_];
    if (ticks >= s.ticks && (hint_ + 1 == segments_.size() || ticks < segments_[hint_ + 1].ticks)) {
      const double offset = static_cast<double>(ticks - s.ticks) * s.slope + 0.5;
      if (offset >= 0.0 && offset < 1e18 && s.ns < (std::uint64_t{1} << 62)) {
        return s.ns + static_cast<std::uint64_t>(offset);
      }
    }
    return segment_ns(ticks);
  }
  [[nodiscard]] std::uint64_t origin_ns() const noexcept { return origin_ns_; }
  [[nodiscard]] std::uint64_t relative_ns(std::uint64_t ns) const noexcept {
    return ns > origin_ns_ ? ns - origin_ns_ : 0;
  }
  // A name for a slice, shortened for display ("ns::fetch" for "ns::fetch(std::string)").
  [[nodiscard]] const std::string& name(NameKey key) const;
  [[nodiscard]] std::string_view string(std::uint64_t id) const;
  [[nodiscard]] const format::Location* location(std::uint64_t id) const;
  // The function string id of a location (0 if unknown).
  [[nodiscard]] std::uint64_t function_of(std::uint64_t location) const;
  // The name a task was given (set_name), empty if none.
  [[nodiscard]] std::string_view task_name(std::uint32_t task) const;
  // "Type: message" for a task that failed with the exception type string `type`.
  [[nodiscard]] std::string failure(std::uint32_t task, std::uint64_t type) const;
  // "file:line" of a location, empty if unknown.
  [[nodiscard]] std::string file_line(std::uint64_t location) const;

  // Call once after the pass.
  void finish();

 private:
  // A piece of the piecewise linear tick-to-ns map (ClockMap's interpolation, in double
  // precision: within a nanosecond of it, and several times faster per event).
  struct Segment {
    std::uint64_t ticks = 0, ns = 0;  // its first point
    double slope = 0;                 // ns per tick
  };
  [[nodiscard]] std::uint64_t segment_ns(std::uint64_t ticks) const noexcept;

  std::vector<probes::ClockSync> points_;
  std::vector<Segment> segments_;  // sorted; empty when ClockMap converts
  mutable std::size_t hint_ = 0;   // the segment of the last conversion
  std::uint32_t pid_ = 0;
  ClockMap clock_;
  std::map<std::uint32_t, CatalogThread> threads_;
  CatalogThread* cached_ = nullptr;
  std::uint32_t cached_index_ = 0;
  std::unordered_map<std::uint64_t, std::string> strings_;
  std::unordered_map<std::uint64_t, format::Location> locations_;
  std::unordered_map<std::uint32_t, std::string> task_names_;
  std::unordered_map<std::uint32_t, std::string> task_errors_;
  mutable std::unordered_map<NameKey, std::string> names_;
  CatalogThread& thread_entry(std::uint32_t thread);
  void note_first_tick(std::uint64_t ticks) noexcept;

  bool event_kinds_;
  bool any_event_ = false;
  std::uint64_t first_tick_ = 0, origin_ns_ = 0;
};

enum class SliceKind : std::uint8_t { kStep, kCallback };

struct Slice {
  std::uint32_t thread = 0;
  SliceKind kind = SliceKind::kStep;
  std::uint32_t task = 0;  // steps
  NameKey name = 0;
  std::uint64_t begin_ns = 0;
  std::uint64_t flow_in = 0;  // steps: the flow from the spawning slice ends here (0: none)
};

class TimelineHandler {
 public:
  TimelineHandler() = default;
  TimelineHandler(const TimelineHandler&) = delete;
  TimelineHandler& operator=(const TimelineHandler&) = delete;
  TimelineHandler(TimelineHandler&&) = delete;
  TimelineHandler& operator=(TimelineHandler&&) = delete;
  virtual ~TimelineHandler() = default;

  virtual void slice_begin(const Slice& slice) = 0;
  // `reason` is the suspend reason of a step that ended suspended, -1 if it finished.
  virtual void slice_end(const Slice& slice, std::uint64_t end_ns, int reason) = 0;
  // `flow_out` (0: none) starts in the slice open on `thread`, if any.
  virtual void task_created(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                            std::uint64_t coroutine, std::uint64_t flow_out) = 0;
  // `failure` is "Type: message" for a task that failed, empty otherwise.
  virtual void task_finished(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                             std::uint16_t state, std::string_view failure) = 0;
  // A job a task ran on the thread pool (to_thread), from when a worker started it until it
  // finished; `thread` recorded it.
  virtual void thread_job(std::uint32_t thread, std::uint32_t task, std::uint64_t begin_ns,
                          std::uint64_t end_ns) = 0;
  virtual void warning(const format::WarningRecord& w, std::uint64_t ns) = 0;
  virtual void lag(std::uint32_t thread, std::uint64_t ns, std::uint64_t lag_ns) = 0;
};

class Timeline final : public TraceVisitor {
 public:
  Timeline(const Catalog& catalog, TimelineHandler& handler)
      : catalog_(catalog), handler_(handler) {}

  void on_event(std::uint32_t thread, const format::Record& r) override { handle(thread, r); }
  void on_events(std::uint32_t thread, std::span<const format::Record> events) override {
    for (const format::Record& r : events) {
      handle(thread, r);
    }
  }
  void on_drops(const format::Drops& d) override;
  void on_warning(const format::WarningRecord& w) override {
    handler_.warning(w, catalog_.to_ns(w.ticks));
  }
  // Closes what is still open; call once after the pass.
  void finish();

  [[nodiscard]] std::uint64_t slices() const noexcept { return slices_; }
  [[nodiscard]] std::uint64_t tasks() const noexcept { return tasks_; }

 private:
  struct ThreadState {
    bool open = false;
    Slice slice;
    std::uint64_t last_ns = 0;
  };
  struct TaskInfo {
    NameKey name = 0;        // its coroutine's function
    std::uint64_t flow = 0;  // pending until its first step
    std::uint64_t created_ns = 0;
    std::uint32_t thread = 0;  // where it was created
  };

  ThreadState& thread(std::uint32_t index) {
    if (cached_ == nullptr || cached_index_ != index) {
      cached_ = &threads_[index];
      cached_index_ = index;
    }
    return *cached_;
  }
  std::uint64_t time(ThreadState& t, std::uint64_t ticks) {
    const std::uint64_t ns = catalog_.to_ns(ticks);
    t.last_ns = ns > t.last_ns ? ns : t.last_ns;
    return t.last_ns;
  }
  void handle(std::uint32_t thread, const format::Record& r);
  void job(std::uint32_t index, const format::Record& r);
  void close(ThreadState& t, std::uint64_t ns, int reason);
  void open(ThreadState& t, std::uint32_t index, std::uint64_t ns, SliceKind kind,
            std::uint32_t task, NameKey name);
  void resumed(ThreadState& t, std::uint32_t index, std::uint64_t ns, std::uint32_t task);
  void created(std::uint32_t index, std::uint64_t ns, const format::Record& r);

  const Catalog& catalog_;
  TimelineHandler& handler_;
  std::map<std::uint32_t, ThreadState> threads_;  // node-based: the cached pointer stays valid
  ThreadState* cached_ = nullptr;
  std::uint32_t cached_index_ = 0;
  FlatMap<TaskInfo> tasks_live_;
  // Thread jobs started and not yet finished, by recording thread and job id: their start.
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint64_t> jobs_;
  std::uint64_t next_flow_ = 1, slices_ = 0, tasks_ = 0;
};

// Runs the first pass; throws TraceError on corruption.
ReadResult read_catalog(TraceReader& reader, Catalog& catalog);
// Runs a Timeline pass into `handler`.
ReadResult read_timeline(TraceReader& reader, const Catalog& catalog, TimelineHandler& handler,
                         std::uint64_t* slices = nullptr, std::uint64_t* tasks = nullptr);

}  // namespace loopscope::viewer::detail
