// spawn() and TaskHandle<T>: running a Task as a task of its own (asyncio.create_task).
//
// spawn(task) queues the task's first step on the current loop and returns a TaskHandle, a
// cheap copyable reference to the running task (like an asyncio Task object). Any number of
// places may hold, await and cancel it. Dropping every handle does NOT stop the task: the
// loop keeps it alive until it finishes (no silent disappearance, unlike asyncio's
// garbage-collected tasks).
//
//   auto h = ls::spawn(fetch("a"));
//   ...
//   std::string page = co_await h;       // suspends until fetch finishes; rethrows its error
//   h.cancel();                          // CancelledError at its current suspension point
//
// Awaiting a handle: if the awaiting task is cancelled meanwhile, the awaited task is
// cancelled too (as in asyncio; use shield() to prevent that) and the awaiter throws
// CancelledError once it has finished. The awaited value is copied (or moved, for a
// move-only T, which can then be taken only once).
//
// Thread-safety: handles belong to their loop's thread.
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/source_location.hpp>
#include <loopscope/task.hpp>

#include <coroutine>
#include <future>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace loopscope {

template <class T>
class TaskHandle;

namespace detail {

template <class T>
T take_task_result(Promise<T>& p) {
  if constexpr (std::is_void_v<T>) {
    p.result();
  } else if constexpr (std::is_copy_constructible_v<T>) {
    return p.result();
  } else {
    T& value = p.result();
    if (p.result_moved_) {
      throw InvalidStateError("the result of this move-only task has already been taken");
    }
    p.result_moved_ = true;
    return std::move(value);
  }
}

// Tells the probes about a task's new name.
void on_task_named(PromiseBase* task);

// Checks that `target` may be awaited by the current task and returns that task.
PromiseBase* check_awaitable_task(PromiseBase* target);

// co_await of a TaskHandle. Suspends unless the task is done; resumed (through the run
// queue) when it finishes. With `shielded`, cancelling the awaiter stops the wait at once
// (CancelledError) and leaves the awaited task running.
template <class T, bool kShielded>
class TaskAwaiter : WaitNode, CompletionNode {
 public:
  explicit TaskAwaiter(Promise<T>* target) noexcept : target_(target) {}
  TaskAwaiter(const TaskAwaiter&) = delete;
  TaskAwaiter& operator=(const TaskAwaiter&) = delete;
  TaskAwaiter(TaskAwaiter&&) = delete;
  TaskAwaiter& operator=(TaskAwaiter&&) = delete;
  // A frame destroyed while it waits (at loop teardown) leaves the target's waiter list.
  ~TaskAwaiter() {
    if (task_ != nullptr && task_->wait_ == static_cast<WaitNode*>(this)) {
      target_->completion_waiters_.remove(this);
    }
  }

  [[nodiscard]] bool await_ready() const noexcept { return !target_->pending(); }
  bool await_suspend(std::coroutine_handle<> h) {
    task_ = check_awaitable_task(target_);
    if (task_->consume_pending_cancel()) {
      cancelled_ = true;
      if constexpr (kShielded) {
        return false;
      } else {
        target_->cancel();
      }
    }
    task_->continuation_ = h;
    on_complete = &TaskAwaiter::completed;
    target_->completion_waiters_.push_back(this);
    on_cancel = &TaskAwaiter::cancelled;
    reason = SuspendReason::kAwaitTask;
    object = target_->id_;
    task_->wait_ = this;
    return true;
  }
  T await_resume() {
    if (cancelled_ || (task_ != nullptr && task_->consume_pending_cancel())) {
      throw CancelledError{};
    }
    return take_task_result(*target_);
  }

 private:
  static void completed(CompletionNode* node, PromiseBase* /*target*/) {
    auto* self = static_cast<TaskAwaiter*>(node);
    self->task_->loop_->schedule(self->task_);
  }
  static void cancelled(WaitNode* node) {
    auto* self = static_cast<TaskAwaiter*>(node);
    self->cancelled_ = true;
    if constexpr (kShielded) {
      self->target_->completion_waiters_.remove(self);
      self->task_->loop_->schedule(self->task_);
    } else {
      self->target_->cancel();  // keep waiting: the awaiter resumes when the target is done
    }
  }

  Promise<T>* target_;
  PromiseBase* task_ = nullptr;
  bool cancelled_ = false;
};

}  // namespace detail

template <class T = void>
class TaskHandle {
 public:
  using value_type = T;
  using Promise = detail::Promise<T>;

  TaskHandle() noexcept = default;
  // Adopts one reference to `p`.
  explicit TaskHandle(Promise* p) noexcept : p_(p) {}
  TaskHandle(const TaskHandle& other) noexcept : p_(other.p_) {
    if (p_ != nullptr) {
      p_->add_ref();
    }
  }
  TaskHandle(TaskHandle&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  TaskHandle& operator=(const TaskHandle& other) noexcept {
    TaskHandle copy(other);
    std::swap(p_, copy.p_);
    return *this;
  }
  TaskHandle& operator=(TaskHandle&& other) noexcept {
    TaskHandle taken(std::move(other));
    std::swap(p_, taken.p_);
    return *this;
  }
  ~TaskHandle() {
    if (p_ != nullptr) {
      p_->release();
    }
  }

  [[nodiscard]] bool valid() const noexcept { return p_ != nullptr; }
  // True once the task returned, failed or was cancelled.
  [[nodiscard]] bool done() const { return !promise().pending(); }
  [[nodiscard]] bool cancelled() const { return promise().state_ == detail::TaskState::kCancelled; }
  // Requests cancellation; false if the task had already finished (then it is a no-op).
  // The result is advisory, as with asyncio's Task.cancel(), so it may be ignored.
  // Throws Error when called off the task's loop thread while the task runs.
  bool cancel() const {  // NOLINT(modernize-use-nodiscard)
    Promise& p = promise();
    if (p.pending() && p.loop_ != nullptr) {  // a pending task's loop still exists
      p.loop_->check_thread("TaskHandle::cancel");
    }
    return p.cancel();
  }
  // Withdraws one cancellation request; returns how many remain (asyncio uncancel).
  int uncancel() const { return promise().uncancel(); }  // NOLINT(modernize-use-nodiscard)
  // Number of cancellation requests not withdrawn (asyncio cancelling).
  [[nodiscard]] int cancelling() const { return promise().cancel_requests_; }

  // The value of a finished task (rethrows its exception, CancelledError if cancelled).
  // Throws InvalidStateError while it is still running.
  decltype(auto) result() const {  // NOLINT(modernize-use-nodiscard): void for T = void
    check_done("result");
    if constexpr (std::is_void_v<T>) {
      promise().result();
    } else {
      return static_cast<const T&>(promise().result());
    }
  }
  // The exception of a finished task (null if it returned); throws CancelledError if it
  // was cancelled and InvalidStateError while it is still running.
  [[nodiscard]] std::exception_ptr exception() const {
    check_done("exception");
    if (cancelled()) {
      throw CancelledError{};
    }
    promise().exception_retrieved_ = true;
    return promise().exception_;
  }

  [[nodiscard]] std::string name() const { return promise().display_name(); }
  void set_name(std::string_view name) const {
    promise().name_ = std::make_unique<std::string>(name);
    detail::on_task_named(&promise());
  }
  [[nodiscard]] std::uint64_t id() const { return promise().id_; }

  auto operator co_await() const noexcept { return detail::TaskAwaiter<T, false>(p_); }

  // For the runtime's own combinators.
  [[nodiscard]] Promise* promise_ptr() const noexcept { return p_; }

  friend bool operator==(const TaskHandle& a, const TaskHandle& b) noexcept { return a.p_ == b.p_; }

 private:
  [[nodiscard]] Promise& promise() const {
    if (p_ == nullptr) [[unlikely]] {
      throw InvalidStateError("use of an empty TaskHandle");
    }
    return *p_;
  }
  void check_done(const char* what) const {
    if (promise().pending()) {
      throw InvalidStateError(std::string(what) + "(): task '" + name() + "' is not done");
    }
  }

  Promise* p_ = nullptr;
};

// Runs `task` concurrently as a task of the current loop; its first step runs on a later
// iteration. Throws Error outside a running loop. `site` (the caller's line, by default) is
// what traces and reports name as the place the task was spawned.
template <class T>
TaskHandle<T> spawn(Task<T> task, SourceLocation site = SourceLocation::current()) {
  Loop& loop = Loop::current();
  if (!task.valid()) {
    throw Error("spawn() of an empty Task (moved from, or already spawned)");
  }
  auto h = task.release();
  detail::Promise<T>& p = h.promise();
  if (p.started_) {
    h = nullptr;
    throw Error("spawn() of a Task that is already being awaited");
  }
  p.started_ = true;
  p.self_ = h;
  p.refs_ = 2;  // the loop's, until the task finishes, and the handle's
  loop.start_task(&p, site);
  if (loop.debug_state() != nullptr) [[unlikely]] {
    detail::note_task_spawned(p, site);
  }
  return TaskHandle<T>(&p);
}

template <class T>
TaskHandle<T> spawn(Task<T> task, std::string_view name,
                    SourceLocation site = SourceLocation::current()) {
  TaskHandle<T> handle = spawn(std::move(task), site);
  handle.set_name(name);
  return handle;
}

// Runs `task` on `loop` from any other thread and returns a future for its result
// (asyncio.run_coroutine_threadsafe).
template <class T>
std::future<T> run_coroutine_threadsafe(Task<T> task, Loop& loop) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  struct Starter {
    static Task<void> body(Task<T> inner, std::shared_ptr<std::promise<T>> out) {
      try {
        if constexpr (std::is_void_v<T>) {
          co_await std::move(inner);
          out->set_value();
        } else {
          out->set_value(co_await std::move(inner));
        }
      } catch (const CancelledError&) {
        out->set_exception(std::make_exception_ptr(CancelledError{}));
        throw;
      } catch (...) {
        out->set_exception(std::current_exception());
      }
    }
  };
  loop.call_soon_threadsafe([t = std::make_shared<Task<T>>(std::move(task)), promise]() mutable {
    spawn(Starter::body(std::move(*t), std::move(promise)));
  });
  return future;
}

}  // namespace loopscope
