#include <loopscope/detail/report.hpp>
#include <loopscope/task_group.hpp>

#include <string>

namespace loopscope {

TaskGroup::TaskGroup() : loop_(&Loop::current()) {
}

TaskGroup::~TaskGroup() {
  if (children_.empty()) {
    return;
  }
  detail::report_warning(WarningKind::kDestroyedPending,
                         "TaskGroup destroyed with " + std::to_string(pending_) +
                             " pending task(s) that were never joined; cancelling them");
  while (detail::PromiseBase* child = children_.pop_front()) {
    --pending_;
    child->group_ = nullptr;
    child->cancel();
  }
}

void TaskGroup::check_open() const {
  if (join_started_) {
    throw Error("TaskGroup: spawn() after join(): the group is finished");
  }
  loop_->check_thread("TaskGroup::spawn");
}

void TaskGroup::adopt(detail::PromiseBase* child) noexcept {
  child->group_ = this;
  children_.push_back(child);
  ++pending_;
  if (aborting_) {
    // asyncio cancels tasks created after the group started failing.
    child->cancel();
  }
}

void TaskGroup::cancel() noexcept {
  // A child's cancel() only schedules it, so the list is not changed while we walk it.
  for (auto* child = children_.front(); child != nullptr;
       child = decltype(children_)::next(child)) {
    child->cancel();
  }
}

void TaskGroup::on_child_done(detail::PromiseBase* child) noexcept {
  children_.remove(child);
  --pending_;
  child->group_ = nullptr;
  if (child->state_ == detail::TaskState::kFailed) {
    child->exception_retrieved_ = true;
    errors_.push_back(child->exception_);
    if (!aborting_) {
      aborting_ = true;
      cancel();
    }
  }
  if (children_.empty() && joiner_ != nullptr) {
    detail::PromiseBase* task = joiner_->task_;
    joiner_ = nullptr;
    loop_->schedule(task);
  }
}

TaskGroup::JoinAwaiter TaskGroup::join() {
  if (join_started_) {
    throw Error("TaskGroup::join() called twice");
  }
  join_started_ = true;
  return JoinAwaiter(this);
}

bool TaskGroup::JoinAwaiter::await_suspend(std::coroutine_handle<> h) {
  task_ = group_->loop_->current_task();
  if (task_ == nullptr || task_->loop_ != &Loop::current()) {
    throw Error("TaskGroup::join() awaited outside the group's loop");
  }
  if (task_->consume_pending_cancel()) {
    cancelled_ = true;
    group_->cancel();
  }
  task_->continuation_ = h;
  group_->joiner_ = this;
  on_cancel = &JoinAwaiter::on_cancelled;
  reason = detail::SuspendReason::kTaskGroupJoin;
  task_->wait_ = this;
  return true;
}

void TaskGroup::JoinAwaiter::on_cancelled(detail::WaitNode* node) {
  // Cancel the children and keep waiting for them: the group never leaves orphans.
  auto* self = static_cast<JoinAwaiter*>(node);
  self->cancelled_ = true;
  self->group_->cancel();
}

void TaskGroup::JoinAwaiter::await_resume() {
  group_->joined_ = true;
  if (!group_->errors_.empty()) {
    throw TaskGroupError(std::move(group_->errors_));
  }
  if (cancelled_ || (task_ != nullptr && task_->consume_pending_cancel())) {
    throw CancelledError{};
  }
}

}  // namespace loopscope
