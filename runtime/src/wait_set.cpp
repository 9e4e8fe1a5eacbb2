#include <loopscope/detail/report.hpp>
#include <loopscope/detail/wait_set.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>

namespace loopscope::detail {

WaitSet::~WaitSet() {
  detach_all();
}

bool WaitSet::counts_as_failure(const PromiseBase* task) const noexcept {
  switch (mode_) {
    case WaitMode::kFirstException:
      return task->state_ == TaskState::kFailed;
    case WaitMode::kFirstFailure:
      return task->state_ == TaskState::kFailed || task->state_ == TaskState::kCancelled;
    default:
      return false;
  }
}

bool WaitSet::await_suspend(std::coroutine_handle<> h) {
  Loop& loop = Loop::current();
  waiter_ = loop.current_task();
  if (waiter_ == nullptr) {
    throw Error("waiting for tasks outside a task");
  }
  if (waiter_->consume_pending_cancel()) {
    cancelled_ = true;
    return false;
  }
  // One pass: check the condition and register on the pending tasks.
  bool satisfied = false;
  on_complete = &WaitSet::slot_done;
  for (PromiseBase* task : tasks_) {
    if (!task->pending()) {
      satisfied = satisfied || mode_ == WaitMode::kFirstCompleted;
      if (first_failure_ == nullptr && counts_as_failure(task)) {
        first_failure_ = task;
        satisfied = true;
      }
      continue;
    }
    if (task->loop_ != &loop) {
      detach_all();
      // The wait is made by wait() or gather(): name the task that called it.
      report_misuse(WarningKind::kWrongLoop,
                    "task '" + task->display_name() + "' waited for (wait/gather) by task '" +
                        waiter_->display_name() + "' of another loop",
                    frame_code(waiter_->self_));
      throw Error("waiting for task '" + task->display_name() + "' of another event loop");
    }
    watch(task);
  }
  if (satisfied || remaining_ == 0) {
    detach_all();
    return false;
  }
  waiter_->continuation_ = h;
  on_cancel = &WaitSet::cancelled;
  reason = SuspendReason::kWaitTasks;
  waiter_->wait_ = this;
  return true;
}

void WaitSet::watch(PromiseBase* task) {
  ++remaining_;
  if (task->observer_ == nullptr) {
    task->observer_ = this;
    return;
  }
  if (members_.empty()) {
    members_.resize(tasks_.size());
  }
  Member& m = members_[member_count_++];
  m.set = this;
  m.task = task;
  m.on_complete = &WaitSet::member_done;
  task->completion_waiters_.push_back(&m);
}

void WaitSet::await_resume() const {
  if (cancelled_) {
    throw CancelledError{};
  }
}

void WaitSet::slot_done(CompletionNode* node, PromiseBase* task) {
  static_cast<WaitSet*>(node)->on_member_done(task);
}

void WaitSet::member_done(CompletionNode* node, PromiseBase* task) {
  auto* member = static_cast<Member*>(node);
  member->task = nullptr;  // already unlinked by the finishing task
  member->set->on_member_done(task);
}

void WaitSet::on_member_done(PromiseBase* task) noexcept {
  --remaining_;
  if (first_failure_ == nullptr && counts_as_failure(task)) {
    first_failure_ = task;
  }
  const bool satisfied =
      remaining_ == 0 || mode_ == WaitMode::kFirstCompleted || first_failure_ != nullptr;
  if (satisfied && waiter_->wait_ == this) {
    detach_all();
    waiter_->loop_->schedule(waiter_);
  }
}

void WaitSet::cancelled(WaitNode* node) {
  auto* self = static_cast<WaitSet*>(node);
  self->cancelled_ = true;
  self->detach_all();
  self->waiter_->loop_->schedule(self->waiter_);
}

void WaitSet::detach_all() noexcept {
  if (remaining_ == 0) {
    return;  // every watched task has finished and unregistered us itself
  }
  for (PromiseBase* task : tasks_) {
    if (task->observer_ == this) {
      task->observer_ = nullptr;
    }
  }
  for (std::size_t i = 0; i < member_count_; ++i) {
    Member& m = members_[i];
    if (m.task != nullptr) {
      m.task->completion_waiters_.remove(&m);
      m.task = nullptr;
    }
  }
  remaining_ = 0;
}

bool is_cancellation(const std::exception_ptr& e) noexcept {
  if (!e) {
    return false;
  }
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace loopscope::detail
