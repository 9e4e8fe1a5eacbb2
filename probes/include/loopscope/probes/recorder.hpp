// Recorder: what a loop thread writes its events through.
//
// One per recording thread, created by a Collector (collector.hpp), which drains it. The hot
// path is record(): a copy into the thread's EventRing, no lock, allocation or system call;
// a full ring drops and counts. What is recorded reaches the collector at the next
// publish(), which the recording thread calls after each clock read (and the ring by itself
// every few thousand words).
//
// Reading the clock costs more than a short step (rdtsc is 7-9 ns on a VM, a yield 6 ns), so
// the loop reads it once per window of steps and records the steps in between untimed
// (record_untimed(), the kUntimed forms of event.hpp); the collector spreads them over their
// window. tick_cost() is what the loop sizes its windows with.
//
// Rare records that carry text (task names, warnings) go through a small locked queue:
// they never happen on the hot path.
//
// Thread-safety: record*() from the owning thread only; the rest is for the collector.
#pragma once

#include <loopscope/probes/clock.hpp>
#include <loopscope/probes/event.hpp>
#include <loopscope/probes/fork.hpp>
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
  // Unchecked room of the ring (EventRing): two words for each step of the longest window.
  static constexpr std::size_t kUncheckedWords = 256;
  Recorder(std::uint32_t thread_index, std::string thread_name, std::size_t ring_words);
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  Recorder(Recorder&&) = delete;
  Recorder& operator=(Recorder&&) = delete;
  ~Recorder() = default;

  // ---- recording thread ----

  // Reads the clock and remembers the value as the latest reading.
  std::uint64_t tick() noexcept {
    step_ticks_ = read_ticks(source_);
    return step_ticks_;
  }
  // The latest reading: the time of the step boundary (or window) the thread is in.
  [[nodiscard]] std::uint64_t step_ticks() const noexcept { return step_ticks_; }
  // Reads the clock without touching the step's time (any thread: warnings, watchdog).
  [[nodiscard]] std::uint64_t now() const noexcept { return read_ticks(source_); }
  // What one clock read costs, in ticks (read_cost() in clock.hpp), measured once.
  [[nodiscard]] std::uint64_t tick_cost() const noexcept { return tick_cost_; }

  // An event at `ticks`.
  void record(EventKind kind, std::uint64_t ticks, std::uint32_t task,
              std::uint16_t arg = 0) noexcept {
    ring_.append_words(pack_header(task, arg, kind, 0), ticks);
  }
  void record(EventKind kind, std::uint64_t ticks, std::uint32_t task, std::uint16_t arg,
              EventExt ext) noexcept {
    ring_.append_words(pack_header(task, arg, kind, 1), ticks, std::span<const EventExt>(&ext, 1));
  }
  template <std::size_t N>
  void record(EventKind kind, std::uint64_t ticks, std::uint32_t task, std::uint16_t arg,
              const std::array<EventExt, N>& ext) noexcept {
    ring_.append_words(pack_header(task, arg, kind, static_cast<std::uint8_t>(N)), ticks, ext);
  }
  // An event without a timestamp of its own (kUntimed): a step's end, or an event inside a
  // step. The first form is the header word alone, `flags` may add kStep; the others fold
  // the extension, `value` followed by the words of `rest` (kFolded: the last word must be
  // 0), into the second word and the records after it.
  // Returns false if the ring had no room (the event was dropped and counted).
  bool record_untimed(EventKind kind, std::uint32_t task, std::uint16_t arg,
                      std::uint8_t flags = 0) noexcept {
    return ring_.append_header(
        pack_header(task, arg, kind, static_cast<std::uint8_t>(kUntimed | flags)));
  }
  void record_untimed_folded(EventKind kind, std::uint32_t task, std::uint16_t arg,
                             std::uint64_t value, std::uint8_t flags = 0) noexcept {
    ring_.append_words(
        pack_header(task, arg, kind, static_cast<std::uint8_t>(kUntimed | kFolded | flags)), value);
  }
  // The two forms above without the ring's room check, for the ends of the short steps of a
  // window: only while ring().takes_unchecked() said so for the window, and at most
  // ring().unchecked_words() words in it (loop_trace.cpp).
  void record_untimed_unchecked(EventKind kind, std::uint32_t task, std::uint16_t arg,
                                std::uint8_t flags) noexcept {
    ring_.append_header_unchecked(
        pack_header(task, arg, kind, static_cast<std::uint8_t>(kUntimed | flags)));
  }
  void record_untimed_folded_unchecked(EventKind kind, std::uint32_t task, std::uint16_t arg,
                                       std::uint64_t value, std::uint8_t flags) noexcept {
    ring_.append_words_unchecked(
        pack_header(task, arg, kind, static_cast<std::uint8_t>(kUntimed | kFolded | flags)), value);
  }
  // A step's end inside a window, unchecked as the two forms above are: its one extension
  // word `value`, written only when it is not 0.
  void record_untimed_end_unchecked(EventKind kind, std::uint32_t task, std::uint16_t arg,
                                    std::uint64_t value, std::uint8_t flags) noexcept {
    if (value == 0) {
      record_untimed_unchecked(kind, task, arg, flags);
    } else {
      record_untimed_folded_unchecked(kind, task, arg, value, flags);
    }
  }
  // Returns false if the ring had no room (the event was dropped and counted).
  template <std::size_t N>
  bool record_untimed_folded(EventKind kind, std::uint32_t task, std::uint16_t arg,
                             std::uint64_t value, const std::array<EventExt, N>& rest) noexcept {
    return ring_.append_words(
        pack_header(task, arg, kind, static_cast<std::uint8_t>(kUntimed | kFolded | N)), value,
        rest);
  }
  // A task_created from the spawn site and coroutine an earlier task_created gave `number`
  // (kSiteRef): two words, `parent` the parent's id; or, in a step whose task_resumed is in
  // the ring, one word: the parent is the task of that step.
  void record_created_at_site(std::uint32_t task, std::uint16_t number,
                              std::uint64_t parent) noexcept {
    ring_.append_words(
        pack_header(task, number, EventKind::kTaskCreated, kUntimed | kFolded | kSiteRef), parent);
  }
  void record_created_in_step(std::uint32_t task, std::uint16_t number) noexcept {
    ring_.append_header(pack_header(task, number, EventKind::kTaskCreated, kUntimed | kSiteRef));
  }
  // `count` task_created from the spawn site and coroutine numbered `number`, in a step whose
  // task_resumed is in the ring (kSpawnRun): the tasks `first`, `first` + 1, ..., two words.
  void record_created_run(std::uint64_t first, std::uint32_t count, std::uint16_t number) noexcept {
    ring_.append_words(
        pack_header(count, number, EventKind::kTaskCreated, kUntimed | kFolded | kSpawnRun), first);
  }
  // A step's end at `ticks`: `value` is its one extension word, written only when it is not
  // 0; `flags` may add kStep.
  void record_step_end(EventKind kind, std::uint64_t ticks, std::uint32_t task, std::uint16_t arg,
                       std::uint64_t value, std::uint8_t flags) noexcept {
    if (value == 0) {
      ring_.append_words(pack_header(task, arg, kind, flags), ticks);
    } else {
      const EventExt ext{value, 0};
      ring_.append_words(pack_header(task, arg, kind, static_cast<std::uint8_t>(flags | 1)), ticks,
                         std::span<const EventExt>(&ext, 1));
    }
  }
  // A timestamp that is no event of the trace: it closes the untimed events before it (the
  // loop writes one when it reads the clock with nothing else to record, say before a step
  // that follows a system call).
  void record_time_mark(std::uint64_t ticks) noexcept {
    ring_.append_words(pack_header(0, 0, kTimeMark, 0), ticks);
  }
  // Makes what was recorded visible to the collector.
  void publish() noexcept { ring_.publish(); }

  // Says that this thread is about to wait (in poll), or has stopped waiting: the collector
  // drains a waiting thread's ring at once, a busy one's later (collector.hpp).
  void set_waiting(bool waiting) noexcept { waiting_.store(waiting, std::memory_order_relaxed); }

  // Says that this thread records nothing more; the collector then drains the ring a last
  // time and forgets the recorder.
  void close() noexcept {
    ring_.publish();
    closed_.store(true, std::memory_order_release);
  }

  // Cold path (takes a lock, allocates); callable from any thread.
  void record_task_name(std::uint64_t task, std::string name);
  // What the exception of a task that failed said (format::TaskError).
  void record_task_error(std::uint64_t task, std::string message);
  void record_warning(WarningEvent warning);

  // ---- collector ----

  [[nodiscard]] EventRing& ring() noexcept { return ring_; }
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  [[nodiscard]] bool waiting() const noexcept { return waiting_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint32_t thread_index() const noexcept { return thread_index_; }
  [[nodiscard]] const std::string& thread_name() const noexcept { return thread_name_; }
  [[nodiscard]] std::uint64_t os_thread_id() const noexcept { return os_tid_; }
  struct TaskText {
    std::uint64_t task;
    std::string text;
  };
  // Takes the queued rare records: task names, task errors, warnings.
  void take_rare(std::vector<TaskText>& names, std::vector<TaskText>& errors,
                 std::vector<WarningEvent>& warnings);

 private:
  EventRing ring_;
  std::uint64_t step_ticks_;
  std::uint64_t tick_cost_;
  TickSource source_;
  std::uint32_t thread_index_;
  std::uint64_t os_tid_;
  std::string thread_name_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> waiting_{false};
  ForkGuard fork_;
  std::mutex rare_mutex_;
  std::vector<TaskText> names_;
  std::vector<TaskText> errors_;
  std::vector<WarningEvent> warnings_;
};

}  // namespace loopscope::probes
