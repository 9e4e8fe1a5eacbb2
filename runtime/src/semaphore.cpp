#include <loopscope/errors.hpp>
#include <loopscope/semaphore.hpp>

namespace loopscope {

bool Semaphore::try_acquire() noexcept {
  if (value_ == 0) {
    return false;
  }
  --value_;
  return true;
}

void Semaphore::release() {
  if (AcquireAwaiter* first = waiters_.front()) {
    first->check_waker_thread("Semaphore::release");
  }
  if (waiters_.empty() && value_ >= bound_) {
    throw Error("BoundedSemaphore released too many times");
  }
  give_back();
}

void Semaphore::give_back() noexcept {
  if (AcquireAwaiter* waiter = waiters_.pop_front()) {
    --waiter_count_;
    waiter->wake();
  } else if (value_ < bound_) {
    ++value_;
  }
}

Semaphore::AcquireAwaiter::~AcquireAwaiter() {
  if (waiting()) {
    // The frame is destroyed while it waits (at loop teardown).
    semaphore_->waiters_.remove(this);
    --semaphore_->waiter_count_;
  }
}

bool Semaphore::AcquireAwaiter::await_suspend(std::coroutine_handle<> h) {
  if (!begin_wait(h, "Semaphore::acquire()")) {
    return false;
  }
  semaphore_->waiters_.push_back(this);
  ++semaphore_->waiter_count_;
  park(detail::SuspendReason::kSemaphore, &AcquireAwaiter::on_cancelled, semaphore_);
  return true;
}

void Semaphore::AcquireAwaiter::on_cancelled(detail::WaitNode* node) {
  auto* self = static_cast<AcquireAwaiter*>(node);
  self->cancelled_ = true;
  self->semaphore_->waiters_.remove(self);
  --self->semaphore_->waiter_count_;
  self->wake();
}

SemaphorePermit Semaphore::AcquireAwaiter::await_resume() {
  if (cancelled_) {
    throw CancelledError{};
  }
  // task_ is set only if the awaiter suspended: the permit was handed over while the task
  // waited, and a cancellation that came after that passes it on rather than losing it.
  if (task_ != nullptr && task_->consume_pending_cancel()) {
    semaphore_->give_back();
    throw CancelledError{};
  }
  return SemaphorePermit(semaphore_);
}

}  // namespace loopscope
