#include <loopscope/errors.hpp>
#include <loopscope/event.hpp>
#include <loopscope/loop.hpp>

namespace loopscope {

void Event::set() {
  if (WaitAwaiter* first = waiters_.front()) {
    first->task_->loop_->check_thread("Event::set");
  }
  set_ = true;
  while (WaitAwaiter* waiter = waiters_.pop_front()) {
    waiter->task_->loop_->schedule(waiter->task_);
  }
}

Event::WaitAwaiter::~WaitAwaiter() {
  if (task_ != nullptr && task_->wait_ == static_cast<detail::WaitNode*>(this)) {
    event_->waiters_.remove(this);  // the frame is destroyed while waiting
  }
}

bool Event::WaitAwaiter::await_suspend(std::coroutine_handle<> h) {
  task_ = Loop::current().current_task();
  if (task_ == nullptr) {
    throw Error("Event::wait() awaited outside a task");
  }
  if (task_->consume_pending_cancel()) {
    cancelled_ = true;
    return false;
  }
  task_->continuation_ = h;
  event_->waiters_.push_back(this);
  on_cancel = &WaitAwaiter::on_cancelled;
  reason = detail::SuspendReason::kEvent;
  object = probes::object_address(event_);
  task_->wait_ = this;
  return true;
}

void Event::WaitAwaiter::on_cancelled(detail::WaitNode* node) {
  auto* self = static_cast<WaitAwaiter*>(node);
  self->cancelled_ = true;
  self->event_->waiters_.remove(self);
  self->task_->loop_->schedule(self->task_);
}

void Event::WaitAwaiter::await_resume() const {
  if (cancelled_ || (task_ != nullptr && task_->consume_pending_cancel())) {
    throw CancelledError{};
  }
}

}  // namespace loopscope
