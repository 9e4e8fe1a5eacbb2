#include <loopscope/detail/report.hpp>
#include <loopscope/task_group.hpp>

#include <string>
#include <vector>

namespace loopscope {

TaskGroup::TaskGroup() : loop_(&Loop::current()) {
  on_complete = &TaskGroup::child_done;
}

TaskGroup::~TaskGroup() {
  if (pending_ > 0) {
    report_pending_children();
  }
  for (detail::PromiseBase* child : children_) {
    if (child->observer_ == this) {
      child->observer_ = nullptr;
      child->cancel();
    }
    child->release();
  }
}

void TaskGroup::report_pending_children() const noexcept {
  // Named after its first pending child, with that child's creation stack in debug mode.
  for (const detail::PromiseBase* child : children_) {
    if (child->pending() && child->observer_ == this) {
      detail::report_group_destroyed_pending(*child, pending_);
      return;
    }
  }
}

void TaskGroup::check_open() const {
  if (join_started_) {
    throw Error("TaskGroup: spawn() after join(): the group is finished");
  }
  loop_->check_thread("TaskGroup::spawn");
}

void TaskGroup::adopt(detail::PromiseBase* child) noexcept {
  // A child that was just spawned has no observer yet.
  child->observer_ = this;
  child->add_ref();
  children_.push_back(child);
  ++pending_;
  if (aborting_) {
    // asyncio cancels tasks created after the group started failing.
    child->cancel();
  }
}

void TaskGroup::cancel() noexcept {
  // A child's cancel() only schedules it, so the vector does not change while we walk it.
  for (detail::PromiseBase* child : children_) {
    child->cancel();  // a no-op for the finished ones
  }
}

void TaskGroup::child_done(detail::CompletionNode* node, detail::PromiseBase* child) {
  static_cast<TaskGroup*>(node)->on_child_done(child);
}

void TaskGroup::on_child_done(detail::PromiseBase* child) noexcept {
  --pending_;
  if (child->state_ == detail::TaskState::kFailed) {
    child->exception_retrieved_ = true;
    errors_.push_back(child->exception_);
    if (!aborting_) {
      aborting_ = true;
      cancel();
    }
  }
  if (children_.size() >= 64 && children_.size() > 2 * pending_) {
    drop_finished_children();
  }
  if (pending_ == 0 && joiner_ != nullptr) {
    detail::PromiseBase* task = joiner_->task_;
    joiner_ = nullptr;
    loop_->schedule(task);
  }
}

void TaskGroup::drop_finished_children() noexcept {
  std::erase_if(children_, [](detail::PromiseBase* child) {
    if (child->pending()) {
      return false;
    }
    child->release();  // never the last reference: the loop or a handle still holds one
    return true;
  });
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
  object = probes::object_address(group_);
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
