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
#include <loopscope/source_location.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>

namespace loopscope {
enum class WarningKind : std::uint8_t;
class Loop;
class TaskGroup;
}  // namespace loopscope

namespace loopscope::detail {

class PromiseBase;
struct DebugState;

// Debug mode's state of the loop running on this thread (runtime/src/debug_state.hpp), null
// outside debug mode: a coroutine frame created here records its creation stack.
extern constinit thread_local DebugState* t_debug_state;
// Captures the calling coroutine's creation stack into t_debug_state and returns its id.
// `caller` is the return address of the function the promise constructor is inlined into.
[[gnu::noinline]] std::uint32_t note_coroutine_created(std::uintptr_t caller) noexcept;
// The stack `task`'s frame was created with, innermost first (raw return addresses, as
// probes::capture_stack gives them); empty outside debug mode, for a frame created outside
// the loop (run()'s main task), or for a task of another loop.
std::span<const std::uintptr_t> creation_stack(const PromiseBase& task) noexcept;

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
  // What the task waits on, for the probes: the awaited task's id, the fd, the to_thread job
  // id, or probes::object_address(the queue, lock, event, ...); 0 for nothing in particular.
  std::uint64_t object = 0;
};

// Registered on a task to hear when it finishes. on_complete may schedule tasks but must
// not resume anything inline.
struct CompletionNode : ListNode<CompletionNode> {
  void (*on_complete)(CompletionNode*, PromiseBase*) = nullptr;
};

struct LiveTag {};

class PromiseBase : public ReadyNode, public ListNode<LiveTag> {
 public:
  // Always inlined (into the coroutine's ramp): see note_coroutine_created().
  [[gnu::always_inline]] PromiseBase() noexcept {
    if (t_debug_state != nullptr) [[unlikely]] {
      debug_id_ =
          note_coroutine_created(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
    }
  }
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
  // Debug mode: where the frame was created (a creation stack id) and, once spawned, where
  // it was spawned (an origin id, kOriginBit set); see runtime/src/creation_stacks.hpp.
  // 0 outside debug mode. It fills what was the padding after the flags above.
  std::uint32_t debug_id_ = 0;

 private:
  void destroy_frame() noexcept;
};

// Every task is a frame of its own: the promise must not grow past its 128 bytes (W1's
// frame is 200), or a spawn costs a larger size class.
static_assert(sizeof(void*) != 8 || sizeof(PromiseBase) <= 128);

// The coroutine to run next in the current task step. An awaiter that would return a
// handle from await_suspend (symmetric transfer) stores it here and suspends instead; the
// loop's step resumes it (a trampoline). GCC 12 turns symmetric transfer into a tail call
// only when sibling-call optimization runs, which -O0 and ASan/UBSan builds do not do, so a
// deep await chain would grow the stack there; the trampoline keeps it constant in every
// build for the price of one return and one call per transfer. An inline variable, defined
// in every translation unit: an executable's code then reaches it at a fixed offset from the
// thread pointer, where an extern one costs a load of that offset at each use.
inline constinit thread_local std::coroutine_handle<> t_next_transfer{};

// Hands control to `next` once the calling awaiter's coroutine has suspended.
inline void transfer_to(std::coroutine_handle<> next) noexcept {
  t_next_transfer = next;
}

// The mangled name of the type of the exception `e` holds (a static string), null if none.
const char* exception_type_name(const std::exception_ptr& e) noexcept;

// The code address that names a coroutine frame's function, finished or not (see
// coroutine_code() in report.hpp, which is 0 for a finished frame).
std::uintptr_t frame_code(std::coroutine_handle<> frame) noexcept;

// Warnings that asyncio reports even without debug mode, naming the coroutine; in debug mode
// they carry the creation stack too. `debug_id` is the frame's PromiseBase::debug_id_.
void report_never_awaited(std::coroutine_handle<> frame, std::uint32_t debug_id) noexcept;
// A task of a loop or TaskGroup being destroyed was still pending (task_findings.cpp).
void report_destroyed_pending(const PromiseBase& task) noexcept;
// A TaskGroup destroyed with `pending` children never joined; `first` is one of them.
void report_group_destroyed_pending(const PromiseBase& first, std::size_t pending) noexcept;
// `what` was called on `loop` from another thread; in debug mode with that thread's stack.
void report_wrong_thread(const Loop& loop, const char* what) noexcept;
// A misuse about to be refused with an Error (wrong_loop, nested_run): reported with the
// stack of the call that made it, which a rare error path can afford in any mode. `code`,
// if not 0, names the coroutine that made it (printed first): when the runtime's own
// coroutine made the call (wait(), gather()), the user's is not on the thread's stack.
[[gnu::noinline]] void report_misuse(WarningKind kind, std::string message,
                                     std::uintptr_t code = 0) noexcept;

// Debug mode's task checks (task_findings.cpp); called only when the loop is in debug mode.
// A task was spawned at `site`: counts it against its spawn site's fan-out limit.
void note_task_spawned(PromiseBase& task, const SourceLocation& site) noexcept;
// A spawned task is finishing: uncounts it, and checks for a swallowed cancellation.
void note_task_finishing(PromiseBase& task) noexcept;
// An async generator whose body ended with CancelledError is destroyed (`on_next` false)
// or asked for its next value (true): the consumer lives on, the stream does not.
void note_generator_closed(std::coroutine_handle<> frame, std::uint32_t debug_id,
                           bool on_next) noexcept;

}  // namespace loopscope::detail
