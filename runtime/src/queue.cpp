#include <loopscope/errors.hpp>
#include <loopscope/queue.hpp>

#include <algorithm>

namespace loopscope::detail {

void QueueBase::task_done() {
  if (unfinished_ == 0) {
    throw Error("task_done() called too many times");
  }
  drop_unfinished(1);
}

void QueueBase::drop_unfinished(std::size_t dropped) noexcept {
  unfinished_ -= std::min(dropped, unfinished_);
  if (unfinished_ == 0) {
    while (JoinAwaiter* joiner = joiners_.pop_front()) {
      joiner->wake();
    }
  }
}

QueueBase::JoinAwaiter::~JoinAwaiter() {
  if (waiting()) {
    queue_->joiners_.remove(this);  // the frame is destroyed while it waits
  }
}

bool QueueBase::JoinAwaiter::await_suspend(std::coroutine_handle<> h) {
  if (!begin_wait(h, "Queue::join()")) {
    return false;
  }
  queue_->joiners_.push_back(this);
  // No reason of its own: join() waits for the consumers, which is a wait on the get side.
  park(SuspendReason::kQueueGet, &JoinAwaiter::on_cancelled, queue_);
  return true;
}

void QueueBase::JoinAwaiter::on_cancelled(WaitNode* node) {
  auto* self = static_cast<JoinAwaiter*>(node);
  self->cancelled_ = true;
  self->queue_->joiners_.remove(self);
  self->wake();
}

void QueueBase::JoinAwaiter::await_resume() const {
  // A late cancellation (after the count reached zero) waits for the next suspension,
  // like the other operations that completed.
  if (cancelled_) {
    throw CancelledError{};
  }
}

}  // namespace loopscope::detail
