// Recorder: what a loop thread writes its events through.
//
// One per recording thread, created by a Collector (collector.hpp), which drains it. The hot
// path is record(): a copy into the thread's EventRing, no lock, allocation or system call;
// a full ring drops and counts. Events that happen inside a step reuse the step's timestamp
// (step_ticks()) instead of reading the clock again.
//
// Rare records that carry text (task names, warnings) go through a small locked queue:
// they never happen on the hot path.
//
// Thread-safety: record*() from the owning thread only; the rest is for the collector.
#pragma once

#include <loopscope/probes/clock.hpp>
#include <loopscope/probes/event.hpp>
#include <loopscope/probes/ring.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace loopscope::probes {

// A finding of the debug checks, as the trace records it.
struct WarningEvent {
  std::uint64_t ticks = 0;
  std::uint8_t kind = 0;
  std::uint64_t task = 0;
  std::string message;
  std::vector<std::uintptr_t> frames;  // code addresses, innermost first
};

class Recorder {
 public:
  Recorder(std::uint32_t thread_index, std::string thread_name, std::size_t ring_slots);
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  Recorder(Recorder&&) = delete;
  Recorder& operator=(Recorder&&) = delete;
  ~Recorder() = default;

  // ---- recording thread ----

  // Reads the clock and remembers the value as the current step's time.
  std::uint64_t tick() noexcept {
    step_ticks_ = read_ticks(source_);
    return step_ticks_;
  }
  [[nodiscard]] std::uint64_t step_ticks() const noexcept { return step_ticks_; }
  // Reads the clock without touching the step's time (any thread: warnings, watchdog).
  [[nodiscard]] std::uint64_t now() const noexcept { return read_ticks(source_); }

  void record(EventKind kind, std::uint64_t ticks, std::uint32_t task,
              std::uint16_t arg = 0) noexcept {
    ring_.write(Event{ticks, task, arg, kind, 0});
  }
  void record(EventKind kind, std::uint64_t ticks, std::uint32_t task, std::uint16_t arg,
              EventExt ext) noexcept {
    ring_.write(Event{ticks, task, arg, kind, 1}, std::span<const EventExt>(&ext, 1));
  }
  template <std::size_t N>
  void record(EventKind kind, std::uint64_t ticks, std::uint32_t task, std::uint16_t arg,
              const std::array<EventExt, N>& ext) noexcept {
    ring_.write(Event{ticks, task, arg, kind, static_cast<std::uint8_t>(N)}, ext);
  }

  // Says that this thread records nothing more; the collector then drains the ring a last
  // time and forgets the recorder.
  void close() noexcept { closed_.store(true, std::memory_order_release); }

  // Cold path (takes a lock, allocates); callable from any thread.
  void record_task_name(std::uint64_t task, std::string name);
  void record_warning(WarningEvent warning);

  // ---- collector ----

  [[nodiscard]] EventRing& ring() noexcept { return ring_; }
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  [[nodiscard]] std::uint32_t thread_index() const noexcept { return thread_index_; }
  [[nodiscard]] const std::string& thread_name() const noexcept { return thread_name_; }
  [[nodiscard]] std::uint64_t os_thread_id() const noexcept { return os_tid_; }
  struct TaskName {
    std::uint64_t task;
    std::string name;
  };
  // Takes the queued rare records.
  void take_rare(std::vector<TaskName>& names, std::vector<WarningEvent>& warnings);

 private:
  EventRing ring_;
  std::uint64_t step_ticks_;
  TickSource source_;
  std::uint32_t thread_index_;
  std::uint64_t os_tid_;
  std::string thread_name_;
  std::atomic<bool> closed_{false};
  std::mutex rare_mutex_;
  std::vector<TaskName> names_;
  std::vector<WarningEvent> warnings_;
};

}  // namespace loopscope::probes
