#include <loopscope/timeout.hpp>

namespace loopscope::detail {

TimeoutTimer::TimeoutTimer(Duration delay, PromiseBase* task) : task_(task) {
  if (task == nullptr) {
    throw Error("timeout() awaited outside a task");
  }
  deadline = task->loop_->time() + delay;
  fire = &TimeoutTimer::on_expired;
  task->loop_->add_timer(this);
}

TimeoutTimer::~TimeoutTimer() {
  task_->loop_->remove_timer(this);
}

void TimeoutTimer::on_expired(TimerNode* node) {
  auto* self = static_cast<TimeoutTimer*>(node);
  self->expired_ = true;
  self->task_->cancel();
}

bool TimeoutTimer::settle() noexcept {
  if (!expired_) {
    return false;
  }
  expired_ = false;  // settle once
  return task_->uncancel() == 0;
}

}  // namespace loopscope::detail
