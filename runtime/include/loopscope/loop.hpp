// Loop: the event loop of one thread.
//
// A Loop owns a FIFO run queue of task steps and callbacks, a timer heap and an epoll
// instance with an eventfd for wake-ups from other threads. run() creates one per call and
// runs it on the calling thread; current_loop() returns it from anywhere on that thread.
//
// Each iteration (run_once) does, in this order: poll I/O (blocking only when nothing is
// ready), take work posted from other threads, move due timers to the run queue, then run
// the steps that were queued when the phase began (work they schedule runs next iteration,
// so a task that keeps yielding cannot starve timers or I/O).
//
//   loop.call_soon([] { ... });                      // next iteration
//   auto h = loop.call_later(10ms, [] { ... });      // h.cancel() disarms it
//   loop.call_soon_threadsafe([] { ... });           // from any thread
//
// Thread-safety: only call_soon_threadsafe() and run_coroutine_threadsafe() may be called
// from other threads; every other method throws loopscope::Error when called off the loop's
// thread (asyncio checks this in debug mode only; the check here is one compare).
#pragma once

#include <loopscope/clock.hpp>
#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/detail/timer_heap.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/lag_stats.hpp>
#include <loopscope/options.hpp>
#include <loopscope/probes/collector.hpp>
#include <loopscope/probes/config.hpp>
#include <loopscope/probes/fork.hpp>
#include <loopscope/probes/recorder.hpp>
#include <loopscope/source_location.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

// Probes compile to nothing with -DLOOPSCOPE_PROBES=OFF; enabled but not tracing, each costs
// one predictable branch on the loop's recorder pointer.
#if LOOPSCOPE_PROBES_ENABLED
#define LOOPSCOPE_PROBE(loop, ...)                    \
  do {                                                \
    if ((loop)->recorder() != nullptr) [[unlikely]] { \
      (loop)->__VA_ARGS__;                            \
    }                                                 \
  } while (false)
#else
#define LOOPSCOPE_PROBE(loop, ...) \
  do {                             \
  } while (false)
#endif

namespace loopscope {

class Loop;

namespace detail {

struct DebugState;
class LagSampler;

// The loop running on this thread, if any. Inline, as t_next_transfer (promise.hpp) is.
inline constinit thread_local Loop* t_current_loop = nullptr;

// A callback queued by call_soon / call_later / call_soon_threadsafe. Shared by the loop
// (until it has run or been cancelled) and by the CallbackHandles that refer to it.
struct CallbackNode : ReadyNode, TimerNode {
  CallbackNode() { is_callback = true; }
  CallbackNode(const CallbackNode&) = delete;
  CallbackNode& operator=(const CallbackNode&) = delete;
  CallbackNode(CallbackNode&&) = delete;
  CallbackNode& operator=(CallbackNode&&) = delete;
  virtual ~CallbackNode() = default;
  virtual void invoke() = 0;
  // The callable's type, mangled (static storage): the probes name callbacks with it.
  [[nodiscard]] virtual const char* type_name() const noexcept = 0;
  // Runs the callback unless cancelled (reporting what it throws), then drops the loop's
  // reference.
  void run() noexcept;

  void release() noexcept {
    if (--refs == 0) {
      delete this;
    }
  }

  Loop* loop = nullptr;
  std::uint32_t refs = 1;
  bool cancelled = false;
};

template <class F>
struct CallbackNodeImpl final : CallbackNode {
  explicit CallbackNodeImpl(F&& f) : fn(std::move(f)) {}
  void invoke() override { fn(); }
  [[nodiscard]] const char* type_name() const noexcept override { return typeid(F).name(); }
  F fn;
};

}  // namespace detail

// Refers to a callback scheduled with call_soon or call_later (asyncio Handle/TimerHandle).
class CallbackHandle {
 public:
  CallbackHandle() = default;
  explicit CallbackHandle(detail::CallbackNode* node) noexcept : node_(node) {}
  CallbackHandle(const CallbackHandle& other) noexcept : node_(other.node_) {
    if (node_ != nullptr) {
      ++node_->refs;
    }
  }
  CallbackHandle(CallbackHandle&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  CallbackHandle& operator=(const CallbackHandle& other) noexcept {
    CallbackHandle copy(other);
    std::swap(node_, copy.node_);
    return *this;
  }
  CallbackHandle& operator=(CallbackHandle&& other) noexcept {
    CallbackHandle taken(std::move(other));
    std::swap(node_, taken.node_);
    return *this;
  }
  ~CallbackHandle() {
    if (node_ != nullptr) {
      node_->release();
    }
  }

  // Prevents the callback from running if it has not run yet.
  void cancel() noexcept;
  [[nodiscard]] bool cancelled() const noexcept { return node_ != nullptr && node_->cancelled; }

 private:
  detail::CallbackNode* node_ = nullptr;
};

class Loop {
 public:
  // Makes this loop the current loop of the calling thread. Throws Error if the thread
  // already has a running loop (a nested run()).
  explicit Loop(const Options& options = {});
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  Loop(Loop&&) = delete;
  Loop& operator=(Loop&&) = delete;
  // Destroys what is left: tasks still pending (reported), callbacks never run.
  ~Loop();

  // The running loop of the calling thread; throws Error if there is none.
  static Loop& current() {
    Loop* loop = detail::t_current_loop;
    if (loop == nullptr) [[unlikely]] {
      throw_no_running_loop();
    }
    return *loop;
  }

  [[nodiscard]] TimePoint time() const noexcept {
    return clock_ != nullptr ? clock_->now() : TimePoint(std::chrono::steady_clock::now());
  }
  [[nodiscard]] const Options& options() const noexcept { return options_; }
  [[nodiscard]] bool debug() const noexcept { return options_.debug; }
  // Debug mode's state (runtime/src/debug_state.hpp), null when debug mode is off.
  [[nodiscard]] detail::DebugState* debug_state() const noexcept { return debug_.get(); }
  // Number of spawned tasks that have not finished.
  [[nodiscard]] std::size_t pending_tasks() const noexcept { return live_count_; }
  // The loop's scheduling delay, sampled while a trace is written or in debug mode (see
  // lag_stats.hpp); all zero otherwise.
  [[nodiscard]] LagStats lag_stats() const noexcept;

  // Runs `fn` on the next iteration, after the callbacks already queued.
  template <class F>
  CallbackHandle call_soon(F fn) {
    check_thread("call_soon");
    auto* node = make_callback(std::move(fn));
    ready_.push(node);
    return CallbackHandle(node);
  }
  // Runs `fn` once `delay` has passed (a negative or zero delay means the next iteration).
  template <class F>
  CallbackHandle call_later(Duration delay, F fn) {
    return call_at(time() + delay, std::move(fn));
  }
  template <class F>
  CallbackHandle call_at(TimePoint when, F fn) {
    check_thread("call_at");
    auto* node = make_callback(std::move(fn));
    node->deadline = when;
    node->fire = &Loop::fire_callback_timer;
    timers_.push(node);
    return CallbackHandle(node);
  }
  // Runs `fn` on the loop's thread; callable from any thread, wakes the loop if it sleeps.
  template <class F>
  void call_soon_threadsafe(F fn) {
    post_threadsafe(new detail::CallbackNodeImpl<F>(std::move(fn)));
  }

  // Throws Error unless called on this loop's thread; `what` names the operation.
  void check_thread(const char* what) const {
    if (detail::t_current_loop != this) [[unlikely]] {
      throw_wrong_thread(what);
    }
  }

  // ---- Scheduler interface for awaitables (not for application code) ----

  // The task whose step is running, or null inside a plain callback.
  [[nodiscard]] detail::PromiseBase* current_task() const noexcept { return current_; }
  // Queues a suspended task to resume at its resume point. The task's wait is over.
  void schedule(detail::PromiseBase* task) noexcept {
    task->wait_ = nullptr;
    // Only loop teardown wakes a finished task (a destroyed frame's lock guard handing the
    // lock to a task that is itself about to be destroyed): never queue it.
    if (task->state_ == detail::TaskState::kPending) [[likely]] {
      ready_.push(task);
    }
  }
  // Makes a freshly created root coroutine a task of this loop and queues its first step.
  void start_task(detail::PromiseBase* task, [[maybe_unused]] const SourceLocation& site =
                                                 SourceLocation::current()) noexcept {
    task->loop_ = this;
    task->id_ = next_task_id_++;
    task->continuation_ = task->self_;
    live_.push_back(task);
    ++live_count_;
    ready_.push(task);
    LOOPSCOPE_PROBE(this, record_task_created(task, site));
  }
  // Probes: the recorder of this loop's thread, null when no trace is being written.
  [[nodiscard]] probes::Recorder* recorder() const noexcept { return recorder_.get(); }
  // Probes, for to_thread: the current task submits a job. Returns the job's id (0 when no
  // trace is written), which the job's completion passes to trace_job_done() with the ticks
  // (probes::read_ticks) at which a worker started and finished it (0 if it never ran).
  std::uint64_t trace_job_queued() noexcept;
  void trace_job_done(std::uint64_t task, std::uint64_t job, std::uint64_t started,
                      std::uint64_t finished) noexcept;
  // Called by a task as it finishes during its step: the step's end event says how it
  // ended. The common end, a task that returns inside a window of steps with nothing else in
  // its step (a spawned task that never suspends), is written here at once, one word with no
  // room check (the window has room for its step ends), and the step is marked as ended
  // (kStepEnded); any other is left to the step's end (record_step_end()).
  void note_task_finished(const detail::PromiseBase& task) noexcept {
    const std::uint32_t left = window_left_;
    if (step_marks_ == 0 && left > 1 && task.state_ != detail::TaskState::kFailed) [[likely]] {
      recorder_->record_untimed_unchecked(probes::EventKind::kTaskFinished,
                                          static_cast<std::uint32_t>(task.id_),
                                          static_cast<std::uint16_t>(task.state_), probes::kStep);
      marked_left_ = left;  // mark_step(kStepEnded), knowing that the step has no mark yet
      window_left_ = 1;
      step_marks_ = kStepEnded;
      return;
    }
    mark_step(kStepFinished);
    step_task_ = static_cast<std::uint32_t>(task.id_);
    step_state_ = task.state_;
    step_exception_type_ = nullptr;
    if (task.state_ == detail::TaskState::kFailed) [[unlikely]] {
      note_task_failed(task);
    }
  }
  // The exception's type for the step's end, and what it says for the trace.
  void note_task_failed(const detail::PromiseBase& task) noexcept;
  void task_finished(detail::PromiseBase* task) noexcept {
    live_.remove(task);
    --live_count_;
  }
  void add_timer(detail::TimerNode* node) { timers_.push(node); }
  void remove_timer(detail::TimerNode* node) noexcept {
    if (node->armed()) {
      timers_.remove(node);
    }
  }
  // I/O: the epoll instance IoWatch registers with, and the number of tasks waiting for
  // readiness (while there are any, every iteration polls).
  [[nodiscard]] int epoll_fd() const noexcept { return epoll_fd_; }
  void add_io_waiter() noexcept { ++io_waiters_; }
  void remove_io_waiter() noexcept { --io_waiters_; }
  // Work done on other threads on behalf of this loop (to_thread jobs) that will post back;
  // while any is outstanding a virtual clock does not jump ahead, and ~Loop waits for it.
  void add_external_work() noexcept { ++external_work_; }
  void remove_external_work() noexcept {
    // Saturating: in a forked child, a job that ended just before the fork may report after
    // the count was cleared (forget_threads_in_child()).
    external_work_ -= external_work_ != 0 ? 1 : 0;
  }

  // Runs iterations until `task` has finished. Throws Error if a loop on a ManualClock has
  // nothing left that could ever finish it (a deadlock, reported instead of hanging).
  void run_until_complete(detail::PromiseBase* task);
  // Cancels every pending task and runs the loop until they have finished (what run() does
  // after the main task returns).
  void cancel_and_drain();
  // One iteration of the loop.
  void run_once();

 private:
  template <class F>
  detail::CallbackNode* make_callback(F&& fn) {
    auto* node = new detail::CallbackNodeImpl<std::decay_t<F>>(std::forward<F>(fn));
    node->loop = this;
    node->refs = 2;  // the loop's and the handle's
    return node;
  }
  static void fire_callback_timer(detail::TimerNode* timer);
  [[noreturn]] static void throw_no_running_loop();
  [[noreturn]] void throw_wrong_thread(const char* what) const;
  void post_threadsafe(detail::CallbackNode* node);
  void release_ready_callbacks() noexcept;

  bool poll_io(bool may_block);
  void drain_threadsafe();
  void fire_due_timers();
  void run_ready();
  void run_ready_debug(detail::ReadyNode* batch);
  // One step of a task; defined in src/run_step.hpp, inline in the plain and traced loops.
  inline void run_step(detail::PromiseBase* task);
  void open_trace();
  // The traced paths (loop_trace.cpp).
  void run_ready_traced(detail::ReadyNode* batch);
  void run_callback_traced(detail::CallbackNode* callback);
  // The end of `task`'s step, which was marked or closes its window; returns the steps left in
  // the window. A finished task's frame may be gone: its id is step_task_.
  std::uint32_t record_step_end(detail::PromiseBase* task) noexcept;
  // A task is created. The common cases take no call and save few registers (kept out of
  // spawn() itself, where they would cost the untraced path register saves). Inside a step
  // whose task_resumed is in the ring, a spawn from a numbered site starts the step's run of
  // spawns (kStepSpawnRun), and each following spawn from the same site and coroutine joins
  // it with no ring word at all: the run is recorded as one event when it ends
  // (end_spawn_run()), which it does at the step's end or at any other event in the step.
  [[gnu::noinline]] void record_task_created(detail::PromiseBase* task,
                                             const SourceLocation& site) noexcept {
    const std::uint8_t marks = step_marks_;
    if ((marks & kStepResumedInRing) != 0) [[likely]] {  // so current_ is not null
      const std::uintptr_t resume = detail::coroutine_code(task->self_);
      if ((marks & kStepSpawnRun) != 0) {
        // Every creation comes through here, so the ids of a run follow on.
        if (run_site_->is(resume, site)) [[likely]] {
          return;
        }
      } else {
        const SpawnSite& cached = spawn_sites_[spawn_site_index(resume, site)];
        if (cached.is(resume, site)) [[likely]] {
          run_site_ = &cached;
          run_first_ = task->id_;
          step_marks_ = marks | kStepSpawnRun;  // the step is marked already: its end ends it
          return;
        }
      }
    }
    record_task_created_slow(task, site);
  }
  void record_task_created_slow(detail::PromiseBase* task, const SourceLocation& site) noexcept;
  void record_resumed_in_step() noexcept;
  // If the step has a run of spawns: records it, the tasks before `end`, and ends it.
  void end_spawn_run(std::uint64_t end) noexcept;
  void fire_due_timers_traced(TimePoint now);
  std::uint64_t trace_tick() noexcept;
  // The steps of the window that starts now (window_, or 1 where the ring lacks the room to
  // take their ends unchecked).
  std::uint32_t open_window() noexcept;
  // Lag sampling (lag_sampler.cpp).
  void start_lag_sampler();
  void sample_lag();
  void note_idle_until_now() noexcept;
  [[nodiscard]] bool deadlocked() const;

  Options options_;
  Clock* clock_;
  Loop* previous_loop_;
  detail::ReadyQueue ready_;
  detail::TimerHeap timers_;
  detail::PromiseBase* current_ = nullptr;
  detail::IntrusiveList<detail::PromiseBase, detail::LiveTag> live_;
  std::size_t live_count_ = 0;
  std::uint64_t next_task_id_ = 1;
  std::size_t external_work_ = 0;
  std::size_t io_waiters_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  // Debug mode's per-loop state (runtime/src/debug_state.hpp); null when debug mode is off.
  std::unique_ptr<detail::DebugState> debug_;
  // A loop carried into a forked child (fork() called on its thread) finds the threads of
  // its debug mode, its trace and its to_thread jobs gone (probes/fork.hpp).
  probes::ForkGuard fork_;
  static void forget_threads_in_child() noexcept;
  // Opens epoll_fd_ and wake_fd_, the eventfd registered in it; on failure sets both to -1
  // and leaves errno as the failing call set it.
  bool open_poller() noexcept;

  // Probes (see probes/): the collector of the trace file and this thread's recorder.
  std::shared_ptr<probes::Collector> collector_;
  std::shared_ptr<probes::Recorder> recorder_;
  // What happened during the running step that its end event must say (loop_trace.cpp):
  // the task finished (how: step_state_, step_exception_type_), an event inside the step
  // wrote its task_resumed.
  static constexpr std::uint8_t kStepFinished = 1;
  static constexpr std::uint8_t kStepResumedWritten = 2;
  // ... and it is in the ring (not dropped with a full ring): the events after it in the
  // step may leave out the task they belong to (a spawn's parent).
  static constexpr std::uint8_t kStepResumedInRing = 4;
  // ... and the step has a run of spawns (record_task_created()): the tasks from run_first_
  // on, spawned from run_site_, not recorded yet.
  static constexpr std::uint8_t kStepSpawnRun = 8;
  // The step's end is written already (note_task_finished()).
  static constexpr std::uint8_t kStepEnded = 16;
  std::uint8_t step_marks_ = 0;
  detail::TaskState step_state_ = detail::TaskState::kPending;
  std::uint32_t step_task_ = 0;  // the finished task's id (kStepFinished)
  const char* step_exception_type_ = nullptr;
  // Steps per clock read, and steps left before the next one (loop_trace.cpp). A marked
  // step sets window_left_ to 1, so that the one countdown per step also catches the marks,
  // and keeps the real count in marked_left_.
  std::uint32_t window_ = 1;
  std::uint32_t window_left_ = 1;
  std::uint32_t marked_left_ = 0;
  void mark_step(std::uint8_t marks) noexcept {
    if (step_marks_ == 0) {
      marked_left_ = window_left_;
      window_left_ = 1;
    }
    step_marks_ |= marks;
  }
  // Spawn sites with their coroutine, numbered for the trace on first use (a spawn from one
  // recorded before takes one or two ring words: probes::kSiteRef), in a two-way cache: the
  // inline check looks at a slot's first way only, the slow path at its second, so that two
  // busy sites sharing a slot each keep their number (and a spawn from either stays a word
  // instead of a six-word definition).
  struct SpawnSite {
    std::uintptr_t resume = 0;
    const char* file = nullptr;
    const char* function = nullptr;
    std::uint32_t line = 0;
    std::uint16_t number = 0;  // 0: none
    [[nodiscard]] bool is(std::uintptr_t code, const SourceLocation& at) const noexcept {
      return resume == code && line == at.line && file == at.file && function == at.function;
    }
  };
  static constexpr std::size_t kSpawnSlots = 64;
  // Coroutines' code addresses differ in their low bits, and so do the lines of a file's
  // spawns: their mix picks the slot in four instructions.
  static std::size_t spawn_site_index(std::uintptr_t resume, const SourceLocation& site) noexcept {
    return static_cast<std::size_t>((resume >> 4) ^ site.line) & (kSpawnSlots - 1);
  }
  // First ways, then second ways. An entry is used when its resume is not 0 (no coroutine's
  // is), and then has a number.
  std::array<SpawnSite, 2 * kSpawnSlots> spawn_sites_{};
  // The step's run of spawns (kStepSpawnRun): its site in spawn_sites_ (which only the slow
  // path, after ending the run, rearranges) and its first task's id.
  const SpawnSite* run_site_ = nullptr;
  std::uint64_t run_first_ = 0;
  std::uint16_t next_spawn_site_ = 1;  // 0 once all 65,535 are used
  // The loop made a system call since its last clock read: read it before the next step.
  bool anchor_ = false;
  std::uint64_t next_job_id_ = 1;
  // The lag sampler (lag_sampler.cpp), null unless tracing or in debug mode.
  std::unique_ptr<detail::LagSampler> lag_;
  // Its gate (LagSampler::gate_ticks), which a traced loop checks without calling it.
  std::uint64_t lag_gate_ticks_ = 0;

  std::mutex threadsafe_mutex_;
  std::vector<detail::CallbackNode*> threadsafe_queue_;
  std::atomic<bool> threadsafe_pending_{false};
};

// The running loop of the calling thread (asyncio.get_running_loop); throws Error if none.
inline Loop& current_loop() {
  return Loop::current();
}

}  // namespace loopscope
