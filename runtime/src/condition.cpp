#include <loopscope/condition.hpp>
#include <loopscope/detail/waiter.hpp>
#include <loopscope/errors.hpp>

namespace loopscope {

// Waits for a notification. Suspends always; resumed through the run queue by notify() or
// by a cancellation.
class Condition::NotifyAwaiter : detail::Waiter, public detail::ListNode<NotifyAwaiter> {
 public:
  explicit NotifyAwaiter(Condition* condition) noexcept : condition_(condition) {}
  NotifyAwaiter(const NotifyAwaiter&) = delete;
  NotifyAwaiter& operator=(const NotifyAwaiter&) = delete;
  NotifyAwaiter(NotifyAwaiter&&) = delete;
  NotifyAwaiter& operator=(NotifyAwaiter&&) = delete;
  ~NotifyAwaiter() {
    if (waiting()) {
      unlink();  // the frame is destroyed while it waits
    }
  }

  [[nodiscard]] bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!begin_wait(h, "Condition::wait()")) {
      return false;
    }
    condition_->waiters_.push_back(this);
    ++condition_->waiter_count_;
    // A notification is what an Event signals; there is no separate reason for it.
    park(detail::SuspendReason::kEvent, &NotifyAwaiter::on_cancelled, condition_);
    return true;
  }
  void await_resume() const {
    if (cancelled_) {
      throw CancelledError{};
    }
    if (task_->consume_pending_cancel()) {
      condition_->wake(1);  // notified, then cancelled: the notification is not lost
      throw CancelledError{};
    }
  }

 private:
  friend class Condition;
  void unlink() noexcept {
    condition_->waiters_.remove(this);
    --condition_->waiter_count_;
  }
  static void on_cancelled(detail::WaitNode* node) {
    auto* self = static_cast<NotifyAwaiter*>(node);
    self->cancelled_ = true;
    self->unlink();
    self->wake();
  }

  Condition* condition_;
};

Task<void> Condition::wait(LockGuard& guard) {
  if (guard.lock() != lock_) {
    throw Error("Condition::wait() needs a guard that holds the condition's lock");
  }
  guard.release();
  bool cancelled = false;
  try {
    co_await NotifyAwaiter(this);
  } catch (const CancelledError&) {
    cancelled = true;
  }
  // Re-acquire whatever happens: the caller's guard must hold the lock again when wait()
  // ends, or its critical section would continue unlocked. Each cancellation meanwhile
  // sends the task to the back of the lock's queue.
  for (;;) {
    try {
      guard = co_await lock_->acquire();
      break;
    } catch (const CancelledError&) {
      cancelled = true;
    }
  }
  if (cancelled) {
    throw CancelledError{};
  }
}

void Condition::notify(std::size_t n) {
  if (!lock_->locked()) {
    throw Error("Condition::notify() called without holding the lock");
  }
  if (NotifyAwaiter* first = waiters_.front()) {
    first->check_waker_thread("Condition::notify");
  }
  wake(n);
}

void Condition::wake(std::size_t n) noexcept {
  for (; n > 0; --n) {
    NotifyAwaiter* waiter = waiters_.pop_front();
    if (waiter == nullptr) {
      break;
    }
    --waiter_count_;
    waiter->wake();
  }
}

}  // namespace loopscope
