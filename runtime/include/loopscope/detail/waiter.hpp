// Waiter: the part every wait-queue awaiter shares (Semaphore, Lock, Condition, Queue).
//
// A primitive keeps its waiting awaiters in an IntrusiveList; each awaiter lives in the
// frame of its coroutine, so waiting allocates nothing. The protocol, in the order an
// awaiter follows it:
//   await_suspend: begin_wait() (false: a pending cancellation ends the wait before it
//                  starts), link into the primitive's list, park().
//   wake-up:       the primitive unlinks the awaiter, records what it handed over, wake().
//   cancellation:  the on_cancel hook unlinks, sets cancelled_ and calls wake().
//   destructor:    if waiting() the frame is being destroyed mid-wait: unlink.
// Every wake-up goes through Loop::schedule, so nothing is ever resumed inline.
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>

#include <coroutine>
#include <string>

namespace loopscope::detail {

class Waiter : public WaitNode {
 protected:
  // Binds the awaiter to the running task. Returns false, with cancelled_ set, when a
  // cancellation is already pending: the awaiter then does not suspend and throws
  // CancelledError from await_resume.
  bool begin_wait(std::coroutine_handle<> h, const char* what) {
    task_ = Loop::current().current_task();
    if (task_ == nullptr) [[unlikely]] {
      throw Error(std::string(what) + " awaited outside a task");
    }
    if (task_->consume_pending_cancel()) {
      cancelled_ = true;
      return false;
    }
    task_->continuation_ = h;
    return true;
  }

  // Registers the wait with the task, once the awaiter is linked; `primitive` is what it
  // waits on (named in traces).
  void park(SuspendReason why, void (*hook)(WaitNode*), const void* primitive) noexcept {
    on_cancel = hook;
    reason = why;
    object = probes::object_address(primitive);
    task_->wait_ = this;
  }

  // True while the awaiter is linked into its primitive's list.
  [[nodiscard]] bool waiting() const noexcept {
    return task_ != nullptr && task_->wait_ == static_cast<const WaitNode*>(this);
  }

  void wake() const noexcept { task_->loop_->schedule(task_); }
  // Throws Error (and reports thread_safety) unless called on the waiting task's loop thread:
  // a public operation that wakes this waiter must check first, since waking touches the
  // loop's run queue, which only the loop's thread may.
  void check_waker_thread(const char* what) const { task_->loop_->check_thread(what); }

  PromiseBase* task_ = nullptr;
  bool cancelled_ = false;
};

}  // namespace loopscope::detail
