// sleep(d): suspends the current task for `d` on the loop's clock (asyncio.sleep).
//
// sleep(0s) (or any d <= 0) yields: the task goes to the back of the run queue and resumes
// after everything already queued, without touching the timer heap.
//
// Suspends: always. Resumed by: the loop's timer phase (or the run queue for a yield), on
// the loop's thread. Throws CancelledError if the task is cancelled while it sleeps or
// before it resumes; the timer is then disarmed at once.
#pragma once

#include <loopscope/clock.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/timer_heap.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>

#include <chrono>
#include <coroutine>

namespace loopscope {

class SleepAwaiter : detail::WaitNode, detail::TimerNode {
 public:
  // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
  explicit SleepAwaiter(Duration delay) noexcept : delay_(delay) {}
  SleepAwaiter(const SleepAwaiter&) = default;
  SleepAwaiter& operator=(const SleepAwaiter&) = default;
  SleepAwaiter(SleepAwaiter&&) = default;
  SleepAwaiter& operator=(SleepAwaiter&&) = default;
  // A frame destroyed while it sleeps (at loop teardown) must not leave its timer armed.
  ~SleepAwaiter() {
    if (armed()) {
      task_->loop_->remove_timer(this);
    }
  }

  [[nodiscard]] bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> h) {
    Loop& loop = Loop::current();
    task_ = loop.current_task();
    if (task_ == nullptr) [[unlikely]] {
      throw Error("sleep() awaited outside a task");
    }
    if (task_->consume_pending_cancel()) {
      cancelled_ = true;
      return false;
    }
    task_->continuation_ = h;
    if (delay_ <= Duration::zero()) {
      loop.schedule(task_);  // a yield: cancellation is noticed when it resumes
      return true;
    }
    deadline = loop.time() + delay_;
    fire = &SleepAwaiter::expired;
    loop.add_timer(this);
    on_cancel = &SleepAwaiter::cancelled;
    reason = detail::SuspendReason::kSleep;
    task_->wait_ = this;
    return true;
  }

  void await_resume() const {
    if (cancelled_ || task_->consume_pending_cancel()) {
      throw CancelledError{};
    }
  }

 private:
  static void expired(detail::TimerNode* timer) {
    auto* self = static_cast<SleepAwaiter*>(timer);
    self->task_->loop_->schedule(self->task_);
  }
  static void cancelled(detail::WaitNode* wait) {
    auto* self = static_cast<SleepAwaiter*>(wait);
    self->cancelled_ = true;
    self->task_->loop_->remove_timer(self);
    self->task_->loop_->schedule(self->task_);
  }

  Duration delay_;
  detail::PromiseBase* task_ = nullptr;
  bool cancelled_ = false;
};

template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
  return SleepAwaiter(std::chrono::duration_cast<Duration>(delay));
}

// Suspends until the loop's clock reaches `when`.
[[nodiscard]] inline SleepAwaiter sleep_until(TimePoint when) {
  return SleepAwaiter(when - Loop::current().time());
}

}  // namespace loopscope
