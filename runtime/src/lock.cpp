#include <loopscope/errors.hpp>
#include <loopscope/lock.hpp>
#include <loopscope/loop.hpp>

namespace loopscope {

void Lock::release() {
  if (!locked_) {
    throw Error("Lock::release() of a lock that is not acquired");
  }
  Loop* loop = detail::t_current_loop;
  detail::PromiseBase* caller = loop != nullptr ? loop->current_task() : nullptr;
  if (caller == nullptr || caller != owner_) {
    throw Error("Lock released by a task that does not own it");
  }
  unlock();
}

void Lock::unlock() noexcept {
  if (AcquireAwaiter* waiter = waiters_.pop_front()) {
    --waiter_count_;
    // Still locked: the lock changes hands without a free moment for a newcomer to take.
    owner_ = waiter->task_;
    ++acquisitions_;
    waiter->wake();
  } else {
    locked_ = false;
    owner_ = nullptr;
  }
}

detail::PromiseBase* Lock::AcquireAwaiter::current_task_or_throw() {
  detail::PromiseBase* task = Loop::current().current_task();
  if (task == nullptr) {
    throw Error("Lock::acquire() awaited outside a task");
  }
  return task;
}

Lock::AcquireAwaiter::~AcquireAwaiter() {
  if (waiting()) {
    // The frame is destroyed while it waits (at loop teardown).
    lock_->waiters_.remove(this);
    --lock_->waiter_count_;
  }
}

bool Lock::AcquireAwaiter::await_suspend(std::coroutine_handle<> h) {
  if (!begin_wait(h, "Lock::acquire()")) {
    return false;
  }
  lock_->waiters_.push_back(this);
  ++lock_->waiter_count_;
  park(detail::SuspendReason::kLock, &AcquireAwaiter::on_cancelled, lock_);
  return true;
}

void Lock::AcquireAwaiter::on_cancelled(detail::WaitNode* node) {
  auto* self = static_cast<AcquireAwaiter*>(node);
  self->cancelled_ = true;
  self->lock_->waiters_.remove(self);
  --self->lock_->waiter_count_;
  self->wake();
}

LockGuard Lock::AcquireAwaiter::await_resume() {
  if (cancelled_) {
    throw CancelledError{};
  }
  // task_ is set only if the awaiter suspended: the lock was handed over while the task
  // waited, and a cancellation that came after that passes it on rather than leaking it.
  if (task_ != nullptr && task_->consume_pending_cancel()) {
    lock_->unlock();
    throw CancelledError{};
  }
  return {lock_, lock_->acquisitions_};
}

}  // namespace loopscope
