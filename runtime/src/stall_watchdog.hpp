// Debug mode's stall check: a watchdog thread per loop that notices a step holding the loop
// past Options::stall_duration and samples the loop thread's stack at that moment, so that
// the finding names the frame that blocks (usleep in fetch() at file:line), not only the task.
//
// The loop thread publishes each step in a StepActivity: a sequence number (odd while a
// step runs) and the task or callback, two relaxed stores, no clock read. The watchdog wakes
// every quarter of the smaller of the two thresholds (slow_callback_duration, stall_duration)
// and reads the sequence: a step it finds running at two wakes in a row is flagged as long,
// which tells the loop thread to time it when it ends (slow_callback.hpp). A step started
// after the last wake at which it was not running, and after the loop's last clock read; once
// that lower bound is stall_duration old (the watchdog sleeps until exactly then), the
// watchdog sends a real-time signal to the loop thread. The handler (async-signal-safe: no
// allocation, no lock) copies the stack and what the thread is running into a preallocated
// sample and posts a semaphore; the watchdog then symbolizes and reports the stall, once per
// stalled step. Time spent reporting findings (detail::reporting_ns()) is not counted, and
// no stall is judged while a finding is being reported.
//
// Symbolizing is slow the first time (libdw loads the debug information of the program and
// of libc: ~140 ms here), so each process's first watchdog does it ahead of time, on a
// thread of its own, for the stack the loop was created with and for libc: a stall, and the
// findings of the loop thread, are then reported within milliseconds. That thread's time is
// not reporting time: nothing waits for it, except a report that needs the lock meanwhile,
// and such a report counts its own wait.
//
// The signal is one of SIGRTMIN..SIGRTMAX that nobody handles yet (a user's handler is never
// replaced), installed with SA_RESTART | SA_ONSTACK: read(), write(), connect() and other
// restartable calls the step is blocked in resume as if nothing happened. Calls that the
// kernel never restarts (poll, select, epoll_wait, sem_timedwait, ...) return EINTR once
// per stalled step; the sleeps (sleep, usleep, nanosleep, clock_nanosleep) are resumed for
// the remaining time by debug mode's own wrappers of them (blocking_calls.cpp).
#pragma once

#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>

namespace loopscope {
class Loop;
}  // namespace loopscope

namespace loopscope::probes {
class Recorder;
}  // namespace loopscope::probes

namespace loopscope::detail {

// CLOCK_MONOTONIC in nanoseconds: debug mode's clock for steps and stalls.
inline std::int64_t steady_now_ns() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// The code that names a task's coroutine (async-signal-safe). GCC clears a frame's resume
// pointer when the coroutine reaches its final suspension, so this is the destroy pointer,
// the next word, which names the same coroutine ("f() [clone .destroy]") in every state.
inline std::uintptr_t task_code(const PromiseBase& task) noexcept {
  std::array<std::uintptr_t, 2> words{};
  std::memcpy(words.data(), task.self_.address(), sizeof(words));
  return words[1];
}

// "153 ms", "1.2 s".
std::string describe_duration(std::int64_t ns);
// A type's name (std::type_info::name()), demangled.
std::string demangled(const char* mangled);

// What the loop thread is doing, published for its watchdog and its signal handler.
struct StepActivity {
  // ---- written by the loop thread ----
  // Odd while a step runs, even between steps; each step gets a new value.
  std::atomic<std::uint64_t> sequence{0};
  // The task or callback of the running step; read only on the loop thread (by the signal
  // handler), hence relaxed.
  std::atomic<ReadyNode*> node{nullptr};
  // The loop's last clock read (steady_now_ns()): the running step started after it.
  std::atomic<std::int64_t> clock_read_ns{0};
  // ---- written by the watchdog ----
  // A step seen running at two wakes in a row (a long one), and the wake before the first
  // of them (it started after that).
  std::atomic<std::uint64_t> long_step{0};
  std::atomic<std::int64_t> long_step_after_ns{0};
  // The loop thread's run-queue wait (StallWatchdog::run_delay_ns()) at that wake; -1 if
  // unknown.
  std::atomic<std::int64_t> long_step_run_delay_ns{-1};

  // Returns the new step's number.
  std::uint64_t begin(ReadyNode* running) noexcept {
    node.store(running, std::memory_order_relaxed);
    const std::uint64_t step = sequence.load(std::memory_order_relaxed) + 1;
    sequence.store(step, std::memory_order_release);
    return step;
  }
  void end(std::uint64_t step) noexcept { sequence.store(step + 1, std::memory_order_release); }
};

class StallWatchdog {
 public:
  // Starts the watchdog of `loop`; must be called on the loop's thread.
  StallWatchdog(Loop& loop, StepActivity& activity);
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;
  StallWatchdog(StallWatchdog&&) = delete;
  StallWatchdog& operator=(StallWatchdog&&) = delete;
  // Stops the thread and joins it (at most one sample timeout if it is sampling).
  ~StallWatchdog();

  // How long the loop thread has waited for a CPU while runnable, in all (the kernel's
  // schedstat run_delay); -1 if the kernel does not tell. Any thread may ask. On a loaded
  // machine that time is the machine's, not the step's: slow_callback and stall leave it out.
  [[nodiscard]] std::int64_t run_delay_ns() const noexcept;

 private:
  void watch();
  // One look at the loop: flags a long step, reports a stalled one. Returns how long to
  // sleep until the next look.
  std::int64_t look();
  void flag_long(std::uint64_t step) noexcept;
  void sample_and_report(std::uint64_t sequence, std::int64_t elapsed_ns);

  Loop& loop_;
  StepActivity& activity_;
  // Where the loop was created: symbolized ahead of time (see warm_up_symbolizer()).
  std::array<std::uintptr_t, 32> creation_stack_{};
  std::size_t creation_depth_;
  probes::Recorder* recorder_;
  std::int64_t threshold_ns_;
  std::int64_t period_ns_;
  pthread_t loop_thread_;
  int schedstat_fd_;  // the loop thread's /proc schedstat, or -1
  // ---- the watchdog thread's own ----
  std::int64_t last_wake_ns_;
  std::uint64_t seen_ = 0;                      // the step sequence read at the last look
  std::int64_t seen_after_ns_ = 0;              // the look before `seen_` was first read
  std::int64_t reporting_at_sighting_ns_ = 0;   // detail::reporting_ns() then
  std::int64_t run_delay_ns_ = -1;              // run_delay_ns() at the last look
  std::int64_t run_delay_at_sighting_ns_ = -1;  // at the look before `seen_` was first read
  std::uint64_t reported_ = 0;                  // the last step reported stalled (0: none)
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace loopscope::detail
