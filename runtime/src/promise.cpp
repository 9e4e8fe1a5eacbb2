#include "debug_state.hpp"
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>

#include <cstring>
#include <cxxabi.h>
#include <string>
#include <typeinfo>
#include <utility>

namespace loopscope::detail {

bool PromiseBase::cancel() noexcept {
  if (state_ != TaskState::kPending) {
    return false;
  }
  ++cancel_requests_;
  if (wait_ != nullptr) {
    // The hook either ends the wait (the task resumes and throws CancelledError) or passes
    // the cancellation on (the task awaits another task, which is cancelled in turn).
    wait_->on_cancel(wait_);
  } else {
    // Running or already queued to run: deliver at the next suspension point.
    cancel_pending_ = true;
  }
  return true;
}

int PromiseBase::uncancel() noexcept {
  if (cancel_requests_ > 0) {
    --cancel_requests_;
  }
  if (cancel_requests_ == 0) {
    cancel_pending_ = false;
  }
  return cancel_requests_;
}

void PromiseBase::record_task_exception() noexcept {
  try {
    throw;
  } catch (const CancelledError&) {
    state_ = TaskState::kCancelled;
  } catch (...) {
    state_ = TaskState::kFailed;
  }
}

const char* exception_type_name(const std::exception_ptr& e) noexcept {
  if (!e) {
    return nullptr;
  }
  try {
    std::rethrow_exception(e);
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr ? type->name() : nullptr;
  }
}

void PromiseBase::finish_task() noexcept {
  if (state_ == TaskState::kPending) {
    state_ = TaskState::kDone;
  }
  wait_ = nullptr;
  if (loop_->debug_state() != nullptr) [[unlikely]] {
    note_task_finishing(*this);
  }
  LOOPSCOPE_PROBE(loop_, note_task_finished(*this));
  loop_->task_finished(this);
  if (observer_ != nullptr) {
    CompletionNode* observer = std::exchange(observer_, nullptr);
    observer->on_complete(observer, this);
  }
  while (CompletionNode* waiter = completion_waiters_.pop_front()) {
    waiter->on_complete(waiter, this);
  }
  release();
}

std::string PromiseBase::display_name() const {
  if (name_) {
    return *name_;
  }
  return "Task-" + std::to_string(id_);
}

// A frame's resume function names its coroutine. GCC clears that pointer when the body
// finishes (it is how done() is told), so a finished frame is named by its destroy
// function, the next word, which demangles to the same name.
std::uintptr_t frame_code(std::coroutine_handle<> frame) noexcept {
  if (const std::uintptr_t code = coroutine_code(frame); code != 0) {
    return code;
  }
  std::uintptr_t destroy_fn = 0;
  std::memcpy(&destroy_fn, static_cast<const char*>(frame.address()) + sizeof(void*),
              sizeof(destroy_fn));
  return destroy_fn;
}

void PromiseBase::destroy_frame() noexcept {
  if (state_ == TaskState::kFailed && !exception_retrieved_) {
    const std::uintptr_t code = frame_code(self_);
    report_warning(
        WarningKind::kExceptionNeverRetrieved,
        "Task exception was never retrieved: task '" + display_name() + "' failed with " +
            describe_exception(exception_),
        FindingContext{.stack = creation_stack(*this), .code = code, .site = code, .task = id_});
  }
  self_.destroy();
}

void report_never_awaited(std::coroutine_handle<> frame, std::uint32_t debug_id) noexcept {
  const std::uintptr_t code = coroutine_code(frame);
  const DebugState* debug = t_debug_state;
  report_warning(WarningKind::kNeverAwaited,
                 "coroutine '" + coroutine_name(frame) + "' was never awaited",
                 FindingContext{.stack = debug != nullptr ? debug->stack_of(debug_id)
                                                          : std::span<const std::uintptr_t>{},
                                .code = code,
                                .site = code});
}

}  // namespace loopscope::detail

namespace loopscope::detail {

void on_task_named(PromiseBase* task) {
  if (task->loop_ != nullptr && task->loop_->recorder() != nullptr && task->name_) {
    task->loop_->recorder()->record_task_name(task->id_, *task->name_);
  }
}

PromiseBase* check_awaitable_task(PromiseBase* target) {
  Loop& loop = Loop::current();
  PromiseBase* task = loop.current_task();
  if (task == nullptr) {
    throw Error("a TaskHandle can only be awaited inside a task");
  }
  if (target->loop_ != &loop) {
    report_misuse(WarningKind::kWrongLoop,
                  "task '" + target->display_name() + "' awaited from a task of another loop");
    throw Error("task '" + target->display_name() + "' belongs to another event loop");
  }
  if (target == task) {
    throw Error("task '" + task->display_name() + "' awaits itself: it would never finish");
  }
  return task;
}

}  // namespace loopscope::detail
