// The non-template part of every Task's promise.
//
// One object serves the scheduler, cancellation, structured concurrency and (later) the
// probes: the run-queue node, the continuation, the task id and the task state all live
// here. A coroutine is a *task root* when it was spawned (self_ is set); a Task that is
// simply awaited runs inside the task of its awaiter and uses only the continuation and
// exception fields.
//
// Lifetime of a root: the loop holds one reference while the task is pending and every
// TaskHandle holds one; the frame is destroyed when the last reference goes.
#pragma once

#include <loopscope/detail/intrusive_list.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

namespace loopscope {
class Loop;
class TaskGroup;
}  // namespace loopscope

namespace loopscope::detail {

class PromiseBase;

// Why a task is suspended; recorded by the probes and shown by the viewer.
enum class SuspendReason : std::uint8_t {
  kNone,
  kYield,
  kSleep,
  kAwaitTask,
  kWaitTasks,
  kTaskGroupJoin,
  kEvent,
  kQueueGet,
  kQueuePut,
  kSemaphore,
  kLock,
  kIoRead,
  kIoWrite,
  kThreadJob,
};

enum class TaskState : std::uint8_t { kPending, kDone, kFailed, kCancelled };

// What a suspended task waits on. The waiting awaiter registers one in PromiseBase::wait_;
// cancel() calls on_cancel, which either detaches the wait and reschedules the task (the
// awaiter then throws CancelledError) or forwards the cancellation (awaiting another task).
struct WaitNode {
  void (*on_cancel)(WaitNode*) = nullptr;
  SuspendReason reason = SuspendReason::kNone;
};

// Registered on a task to hear when it finishes. on_complete may schedule tasks but must
// not resume anything inline.
struct CompletionNode : ListNode<CompletionNode> {
  void (*on_complete)(CompletionNode*, PromiseBase*) = nullptr;
};

struct LiveTag {};

class PromiseBase : public ReadyNode, public ListNode<LiveTag> {
 public:
  PromiseBase() = default;
  PromiseBase(const PromiseBase&) = delete;
  PromiseBase& operator=(const PromiseBase&) = delete;
  PromiseBase(PromiseBase&&) = delete;
  PromiseBase& operator=(PromiseBase&&) = delete;
  ~PromiseBase() = default;

  [[nodiscard]] bool is_root() const noexcept { return static_cast<bool>(self_); }
  [[nodiscard]] bool pending() const noexcept { return state_ == TaskState::kPending; }

  // Requests cancellation (asyncio Task.cancel). Returns false if the task already finished.
  bool cancel() noexcept;
  // Withdraws one cancellation request (asyncio Task.uncancel); returns those remaining.
  int uncancel() noexcept;

  // True (once) if a cancellation is waiting to be delivered at the next suspension point.
  bool consume_pending_cancel() noexcept {
    if (cancel_pending_) {
      cancel_pending_ = false;
      return true;
    }
    return false;
  }

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      destroy_frame();
    }
  }

  // Rethrows the task's exception (marking it retrieved) if it has one.
  void rethrow_if_failed() {
    if (exception_) {
      exception_retrieved_ = true;
      std::rethrow_exception(exception_);
    }
  }

  // Called by the final awaiter of a root task: publishes the outcome, wakes whoever waits
  // and drops the loop's reference (which may destroy the frame).
  void finish_task() noexcept;
  // Records a failure of a root task; called from unhandled_exception().
  void record_task_exception() noexcept;
  [[nodiscard]] std::string display_name() const;

  // An awaited coroutine: the awaiter to continue when it ends. A task root: where its next
  // step resumes (the innermost suspended coroutine of the task), set at each suspension.
  std::coroutine_handle<> continuation_{};
  std::exception_ptr exception_{};

  // --- used only when this coroutine is the root of a task ---
  std::coroutine_handle<> self_{};
  Loop* loop_ = nullptr;
  WaitNode* wait_ = nullptr;
  // Hears of completion first, without a list node (a WaitSet over many tasks uses it, so
  // gathering 100,000 tasks allocates nothing per task); further observers use the list.
  CompletionNode* observer_ = nullptr;
  IntrusiveList<CompletionNode> completion_waiters_;
  std::unique_ptr<std::string> name_;
  std::uint64_t id_ = 0;
  std::uint32_t refs_ = 0;
  std::uint16_t cancel_requests_ = 0;
  TaskState state_ = TaskState::kPending;
  bool cancel_pending_ = false;
  bool started_ = false;
  bool exception_retrieved_ = false;
  bool result_moved_ = false;

 private:
  void destroy_frame() noexcept;
};

// The coroutine to run next in the current task step. An awaiter that would return a
// handle from await_suspend (symmetric transfer) stores it here and suspends instead; the
// loop's step resumes it (a trampoline). GCC 12 turns symmetric transfer into a tail call
// only when sibling-call optimization runs, which -O0 and ASan/UBSan builds do not do, so a
// deep await chain would grow the stack there; the trampoline keeps it constant in every
// build for the price of one return and one call per transfer.
extern constinit thread_local std::coroutine_handle<> t_next_transfer;

// Hands control to `next` once the calling awaiter's coroutine has suspended.
inline void transfer_to(std::coroutine_handle<> next) noexcept {
  t_next_transfer = next;
}

// Warnings that asyncio reports even without debug mode. Written to stderr.
void report_never_awaited(std::coroutine_handle<> frame) noexcept;

}  // namespace loopscope::detail
