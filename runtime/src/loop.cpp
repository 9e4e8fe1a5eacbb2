#include "debug_state.hpp"
#include "lag_sampler.hpp"
#include "run_step.hpp"
#include <loopscope/detail/io_watch.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <new>
#include <pthread.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace loopscope {

namespace detail {

void CallbackNode::run() noexcept {
  if (!cancelled) {
    try {
      invoke();
    } catch (const CancelledError&) {
      report_warning(WarningKind::kSwallowedCancellation, "CancelledError escaped from a callback");
    } catch (...) {
      // asyncio logs "Exception in callback" and carries on; a callback has nobody to
      // propagate to, and the poll loop never throws.
      std::fprintf(stderr, "loopscope: error: exception in callback: %s\n",
                   describe_exception(std::current_exception()).c_str());
    }
  }
  release();
}

}  // namespace detail

void CallbackHandle::cancel() noexcept {
  if (node_ == nullptr || node_->cancelled) {
    return;
  }
  node_->cancelled = true;
  if (node_->armed()) {
    // Still in the timer heap: take it out now rather than let it linger until its deadline.
    node_->loop->remove_timer(node_);
    node_->release();
  }
}

Loop::Loop(const Options& options)
    : options_(options), clock_(options.clock), previous_loop_(detail::t_current_loop) {
  if (previous_loop_ != nullptr) {
    detail::report_misuse(WarningKind::kNestedRun,
                          "run() called while an event loop is running on this thread");
    throw Error(
        "loopscope::run() cannot be called from a running event loop; await the task "
        "instead, or run it on another thread");
  }
  static const bool at_fork = pthread_atfork(nullptr, nullptr, forget_threads_in_child) == 0;
  (void)at_fork;
  if (!open_poller()) {
    throw std::system_error(errno, std::generic_category(), "loopscope: creating the event loop");
  }
  try {
    open_trace();
    if (options_.debug) {
      debug_ = std::make_unique<detail::DebugState>(*this);
    }
    start_lag_sampler();
  } catch (...) {
    // The destructor will not run for a constructor that throws: undo what it did.
    close(wake_fd_);
    close(epoll_fd_);
    throw;
  }
  detail::t_current_loop = this;
}

// In a forked child, on the thread that called fork() (the only one left), for the loop of
// that thread:
// - the to_thread jobs it waits for ran on threads that are gone and will never post back;
// - its epoll instance and wake-up eventfd are the parent's own (fork shares them): a child
//   that polled them would take the parent's wake-ups. It gets new ones. I/O waits
//   registered before the fork stay with the parent: the sockets are the parent's too;
// - the lock of its thread-safe queue may have been held by a thread that is gone.
void Loop::forget_threads_in_child() noexcept {
  Loop* const loop = detail::t_current_loop;  // at most one: a loop never nests on a thread
  if (loop == nullptr) {
    return;
  }
  loop->external_work_ = 0;
  new (&loop->threadsafe_mutex_) std::mutex;
  close(loop->epoll_fd_);  // the child's descriptors only: the parent keeps its own
  close(loop->wake_fd_);
  // On failure both are -1, and the loop's next poll fails with a clear error.
  if (loop->open_poller() && loop->threadsafe_pending_.load(std::memory_order_relaxed)) {
    const std::uint64_t one = 1;  // what is queued was posted to the old eventfd
    [[maybe_unused]] const auto n = write(loop->wake_fd_, &one, sizeof(one));
  }
}

bool Loop::open_poller() noexcept {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    const int err = errno;
    for (int* fd : {&epoll_fd_, &wake_fd_}) {
      if (*fd >= 0) {
        close(*fd);
        *fd = -1;
      }
    }
    errno = err;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null marks the wake-up eventfd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  return true;
}

Loop::~Loop() {
  // Jobs on other threads (to_thread) post back to this loop when they end: wait for them,
  // so that none touches a destroyed loop (asyncio.run() waits for its executor likewise).
  while (external_work_ > 0) {
    run_once();
  }
  // Timers first: the frames destroyed below may own some of them.
  while (!timers_.empty()) {
    detail::TimerNode* timer = timers_.pop();
    if (timer->fire == &Loop::fire_callback_timer) {
      static_cast<detail::CallbackNode*>(timer)->release();
    }
  }
  // What still runs now never finished its cancellation (run() cancelled and drained every
  // task that could finish): destroy it. Destroying a frame runs its destructors, which
  // unlink its awaiters and may release locks or set events that other leftover tasks wait
  // for. So first mark every leftover task finished (schedule() then never queues one) and
  // empty the run queue; then destroy the newest first, so children, which usually wait on
  // what their parents own, go before their parents.
  for (auto* task = live_.front(); task != nullptr; task = decltype(live_)::next(task)) {
    task->state_ = detail::TaskState::kCancelled;
  }
  release_ready_callbacks();
  while (detail::PromiseBase* task = live_.back()) {
    detail::report_destroyed_pending(*task);
    task_finished(task);
    task->release();
  }
  drain_threadsafe();
  release_ready_callbacks();
  if (debug_ != nullptr && fork_.in_child()) [[unlikely]] {
    // The watchdog's and the deferred reports' threads exist in the parent only: joining
    // them, or destroying what they wait on, would never return. Left allocated.
    detail::t_debug_state = debug_->previous_debug_state;
    (void)debug_.release();  // NOLINT(bugprone-unused-return-value): leaked on purpose
  }
  debug_.reset();  // its findings go into the trace, which closes next
  if (recorder_ != nullptr) {
    recorder_->record_time_mark(recorder_->tick());  // closes the last window of steps
    recorder_->close();  // everything this loop will record is in its ring now
  }
  close(wake_fd_);
  close(epoll_fd_);
  detail::t_current_loop = previous_loop_;
}

void Loop::release_ready_callbacks() noexcept {
  while (detail::ReadyNode* node = ready_.pop()) {
    if (node->is_callback) {
      static_cast<detail::CallbackNode*>(node)->release();
    }
  }
}

void Loop::throw_no_running_loop() {
  throw Error("no running event loop: call this inside loopscope::run()");
}

void Loop::throw_wrong_thread(const char* what) const {
  detail::report_wrong_thread(*this, what);
  // Loop methods name themselves "call_soon"; primitives "Event::set".
  const bool qualified = std::string_view(what).find("::") != std::string_view::npos;
  throw Error(std::string(qualified ? "" : "Loop::") + what +
              "() called from a thread that is not the loop's; only call_soon_threadsafe() "
              "and run_coroutine_threadsafe() may be");
}

void Loop::fire_callback_timer(detail::TimerNode* timer) {
  auto* node = static_cast<detail::CallbackNode*>(timer);
  node->loop->ready_.push(node);
}

void Loop::post_threadsafe(detail::CallbackNode* node) {
  node->loop = this;
  // The eventfd is written under the lock: once the loop has taken the node it may finish
  // and be destroyed (a to_thread job's completion lets run() return), so nothing may touch
  // the loop after the unlock. The lock also keeps "pending" and a non-zero counter together.
  std::lock_guard lock(threadsafe_mutex_);
  threadsafe_queue_.push_back(node);
  if (!threadsafe_pending_.exchange(true, std::memory_order_acq_rel)) {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop is woken either way.
    [[maybe_unused]] const auto n = write(wake_fd_, &one, sizeof(one));
  }
}

void Loop::drain_threadsafe() {
  if (!threadsafe_pending_.load(std::memory_order_acquire)) {
    return;
  }
  std::vector<detail::CallbackNode*> posted;
  {
    std::lock_guard lock(threadsafe_mutex_);
    posted.swap(threadsafe_queue_);
    threadsafe_pending_.store(false, std::memory_order_release);
    // Reset under the lock: read after it, this could swallow the wake-up of a post made
    // in between, and the loop would then sleep with that post queued.
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = read(wake_fd_, &count, sizeof(count));
  }
  for (detail::CallbackNode* node : posted) {
    ready_.push(node);
  }
  anchor_ = true;  // the eventfd read above is no step's time
}

bool Loop::poll_io(bool may_block) {
  int timeout_ms = 0;
  if (may_block) {
    if (timers_.empty()) {
      timeout_ms = -1;
    } else {
      const Duration wait = timers_.top()->deadline - time();
      // Round up: waking early would only spin until the deadline.
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      timeout_ms = ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1 << 30));
    }
  }
  std::array<epoll_event, 64> events{};
  // A poll that may wait is idle time, timed at both ends; one that does not is the loop's
  // own work, kept out of the next step's time (anchor_).
  const bool traced = LOOPSCOPE_PROBES_ENABLED && recorder_ != nullptr && timeout_ms != 0;
  if (traced) {
    recorder_->record(probes::EventKind::kPollBegin, trace_tick(), 0);
    recorder_->publish();          // the collector sees everything before the loop sleeps
    recorder_->set_waiting(true);  // and drains it meanwhile
  }
  const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
  if (traced) {
    recorder_->set_waiting(false);
    recorder_->record(probes::EventKind::kPollEnd, trace_tick(), 0,
                      static_cast<std::uint16_t>(n < 0 ? 0 : n));
  } else {
    anchor_ = true;
  }
  if (timeout_ms != 0) {
    note_idle_until_now();
  }
  if (n < 0) {
    return false;  // EINTR: the caller simply goes round again
  }
  for (int i = 0; i < n; ++i) {
    // A null pointer is the wake-up eventfd, drained with the thread-safe queue.
    if (events[i].data.ptr != nullptr) {
      static_cast<detail::IoWatch*>(events[i].data.ptr)->on_events(events[i].events);
    }
  }
  return n > 0;
}

void Loop::fire_due_timers() {
  if (timers_.empty()) {
    return;
  }
  const TimePoint now = time();
#if LOOPSCOPE_PROBES_ENABLED
  if (recorder_ != nullptr && timers_.top()->deadline <= now) [[unlikely]] {
    fire_due_timers_traced(now);
    return;
  }
#endif
  while (!timers_.empty() && timers_.top()->deadline <= now) {
    detail::TimerNode* timer = timers_.pop();
    timer->fire(timer);
  }
}

void Loop::run_ready() {
  // Only what is queued now runs in this iteration (asyncio's ntodo); steps queue more.
  detail::ReadyNode* batch = ready_.take_all();
  if (debug_ != nullptr) [[unlikely]] {
    run_ready_debug(batch);  // one branch per batch, not per step
    return;
  }
  while (detail::ReadyNode* node = batch) {
    batch = node->next_ready;
    if (!node->is_callback) {
      run_step(static_cast<detail::PromiseBase*>(node));
    } else {
      static_cast<detail::CallbackNode*>(node)->run();
    }
  }
}

void Loop::run_ready_debug(detail::ReadyNode* batch) {
  // Debug mode times every step (slow_callback.hpp) and publishes it for the stall
  // watchdog. With a trace, each step is recorded by the traced path, as a batch of one.
  detail::StepMonitor& steps = debug_->steps;
  steps.begin_batch();
  while (detail::ReadyNode* node = batch) {
    batch = std::exchange(node->next_ready, nullptr);
    steps.begin_step(node);
#if LOOPSCOPE_PROBES_ENABLED
    if (recorder_ != nullptr) {
      run_ready_traced(node);
      steps.end_step(node);
      continue;
    }
#endif
    if (!node->is_callback) {
      run_step(static_cast<detail::PromiseBase*>(node));
    } else {
      static_cast<detail::CallbackNode*>(node)->run();
    }
    steps.end_step(node);
  }
}

void Loop::open_trace() {
  if (options_.trace_path.empty()) {
    return;
  }
#if LOOPSCOPE_PROBES_ENABLED
  collector_ = probes::Collector::shared(options_.trace_path);
  recorder_ = collector_->add_thread("loop");
#else
  std::fprintf(stderr,
               "loopscope: warning: no trace written to '%s': this program was built with "
               "LOOPSCOPE_PROBES=OFF\n",
               options_.trace_path.c_str());
#endif
}

void Loop::run_once() {
  if (lag_ != nullptr) [[unlikely]] {
    // Before the loop may go idle: what delayed the sample is behind it. A traced loop
    // checks the sampler's gate against its latest clock reading here, without a call.
    if (recorder_ == nullptr || recorder_->step_ticks() >= lag_gate_ticks_) {
      sample_lag();
    }
  }
  const bool idle = ready_.empty();
  if (idle || io_waiters_ > 0) {
    // With nothing ready, a virtual clock jumps to the next deadline instead of waiting.
    const bool jump = idle && clock_ != nullptr && !timers_.empty() && external_work_ == 0 &&
                      io_waiters_ == 0 && !threadsafe_pending_.load(std::memory_order_acquire) &&
                      clock_->jump_to(timers_.top()->deadline);
    if (jump) {
      note_idle_until_now();  // the jump stands for waiting
    }
    poll_io(idle && !jump);
  }
  drain_threadsafe();
  fire_due_timers();
#if LOOPSCOPE_PROBES_ENABLED
  if (recorder_ != nullptr && debug_ == nullptr) [[unlikely]] {
    // Straight to the traced batch, not through run_ready(): where the batches are one step
    // each (a queue's producer and consumer taking turns) a call per batch costs a traced
    // loop about as much as recording the step does.
    run_ready_traced(ready_.take_all());
    return;
  }
#endif
  run_ready();
}

bool Loop::deadlocked() const {
  // Nothing ready, no timer, no I/O, nothing on another thread: with a virtual clock
  // nothing can ever happen again. A real clock waits (another thread may still post).
  return clock_ != nullptr && clock_->is_virtual() && ready_.empty() && timers_.empty() &&
         io_waiters_ == 0 && external_work_ == 0 &&
         !threadsafe_pending_.load(std::memory_order_acquire);
}

void Loop::run_until_complete(detail::PromiseBase* task) {
  while (task->pending()) {
    if (deadlocked()) {
      throw Error("event loop deadlock: task '" + task->display_name() +
                  "' is waiting for something that nothing will ever do");
    }
    run_once();
  }
}

void Loop::cancel_and_drain() {
  // A task may catch CancelledError and await again; cancel again a bounded number of times
  // rather than hang at exit (asyncio.run would wait forever).
  constexpr int kRounds = 16;
  for (int round = 0; round < kRounds && !live_.empty(); ++round) {
    std::vector<detail::PromiseBase*> pending;
    pending.reserve(live_count_);
    for (auto* t = live_.front(); t != nullptr; t = decltype(live_)::next(t)) {
      pending.push_back(t);
      t->add_ref();  // keep each alive while cancelling the others
    }
    for (auto* t : pending) {
      t->cancel();
    }
    for (auto* t : pending) {
      t->release();
    }
    while (!live_.empty() &&
           !(ready_.empty() && timers_.empty() && io_waiters_ == 0 && external_work_ == 0)) {
      run_once();
      if (ready_.empty()) {
        break;  // what is left waits on timers or I/O: cancel it again
      }
    }
  }
}

}  // namespace loopscope
