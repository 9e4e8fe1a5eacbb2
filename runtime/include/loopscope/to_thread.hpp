// to_thread / run_in_executor: run a blocking or CPU-bound call on another thread and await
// its result without blocking the loop (asyncio.to_thread / loop.run_in_executor).
//
//   std::string text = co_await ls::to_thread(read_file, path);      // the default pool
//   ls::ThreadPool pool{2};
//   auto words = co_await ls::run_in_executor(pool, count_words, std::move(text));
//
// The function and its arguments are decay-copied when to_thread() is called, as std::thread
// does (pass std::ref(x) to share x). Awaiting submits the job, which calls
// std::invoke(std::move(fn), std::move(args)...) on a worker and then destroys fn and the
// arguments there. The result (by value: a reference result is copied on the worker) or the
// exception is handed to the awaiting task, which resumes on its loop's thread.
//
// Suspends: always, unless a cancellation of the task is already pending (CancelledError at
// once; the job is not submitted). Resumed by: the job, which stores its outcome and posts
// the wake-up with call_soon_threadsafe; the callback schedules the task on the loop thread.
//
// Cancellation: the awaiter leaves at once with CancelledError while the job keeps running
// (a thread cannot be interrupted; asyncio behaves the same). Its result or exception is
// dropped quietly when it ends. A cancellation that arrives after the job has finished but
// before the task resumed does not lose the result: it is returned, and the cancellation is
// delivered at the task's next suspension point.
//
// Lifetime: the function, arguments and outcome live in a state shared by the awaiter and the
// job, so neither can leave the other dangling. While a job is in flight its loop counts it
// as external work: a ManualClock does not jump ahead (the job may post back at any moment),
// and the loop waits for it before it is destroyed. run() therefore returns only once the
// to_thread jobs of its loop have finished, as asyncio.run() waits for its default executor;
// a job that never returns keeps run() from returning. Every job posts back exactly once:
// an executor that destroys a job without running it makes the awaiter throw Error.
//
// Executor: any type whose submit() accepts a move-only `void()` callable (ThreadPool is
// one). It must outlive the jobs submitted to it.
//
// WORKAROUND(gcc-12, https://github.com/chriskohlhoff/asio/issues/858): GCC 12 destroys a
// temporary closure that owns move-captured state twice when the closure is written inside
// the co_await expression; name it first:
//   auto job = [buf = std::move(buf)] { return parse(buf); };
//   auto parsed = co_await ls::to_thread(std::move(job));
//
// Thread-safety: awaited on a loop thread. `fn` runs on a worker, so it must not touch the
// loop or its tasks (post back with call_soon_threadsafe if it has to).
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/thread_pool.hpp>

#include <concepts>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace loopscope {

namespace detail {

// A move-only stand-in for the jobs run_in_executor submits, to state the Executor concept.
struct MoveOnlyJob {
  MoveOnlyJob() = default;
  MoveOnlyJob(const MoveOnlyJob&) = delete;
  MoveOnlyJob& operator=(const MoveOnlyJob&) = delete;
  MoveOnlyJob(MoveOnlyJob&&) = default;
  MoveOnlyJob& operator=(MoveOnlyJob&&) = default;
  ~MoveOnlyJob() = default;
  void operator()() {}
};

}  // namespace detail

// Something that runs jobs on other threads: ThreadPool, or a user's executor.
template <class E>
concept Executor = requires(E& executor, detail::MoveOnlyJob job) {
  executor.submit(std::move(job));
};

namespace detail {

// The result type of a job: what the call returns, by value.
template <class Fn, class... Args>
using ThreadJobResult = std::remove_cvref_t<std::invoke_result_t<Fn, Args...>>;

// Shared by the awaiter and the job. The call and the outcome are written by the worker and
// read on the loop thread after the job has posted back (the post's lock orders them);
// loop_ and task_ belong to the loop thread. When the loop writes a trace, the worker also
// notes when it started and finished the job (probe clock ticks), for the loop to record:
// workers have no ring of their own.
template <class R, class Fn, class... Args>
class ThreadJobState {
 public:
  ThreadJobState(Loop* loop, std::tuple<Fn, Args...>&& call)
      : loop_(loop), call_(std::in_place, std::move(call)) {}

  [[nodiscard]] Loop* loop() const noexcept { return loop_; }

  // Loop thread, before submitting: the job's id in the trace (0: none) and its task's.
  void trace_as(std::uint64_t job, std::uint64_t task) noexcept {
    job_ = job;
    task_id_ = task;
  }

  // Worker: calls the function, keeps its outcome and frees the call there.
  void run() noexcept {
    if (job_ != 0) {
      started_ = probes::read_ticks(probes::tick_source());
    }
    try {
      auto invoke = [](Fn& fn, Args&... args) -> decltype(auto) {
        return std::invoke(std::move(fn), std::move(args)...);
      };
      if constexpr (std::is_void_v<R>) {
        std::apply(invoke, *call_);
      } else {
        value_.emplace(std::apply(invoke, *call_));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    call_.reset();
    if (job_ != 0) {
      finished_ = probes::read_ticks(probes::tick_source());
    }
  }
  // Worker or executor: the job is destroyed without having run.
  void dropped() noexcept {
    error_ = std::make_exception_ptr(
        Error("run_in_executor(): the executor destroyed the job without running it"));
  }

  // Loop thread: `task` waits for the outcome; detach() ends that (cancelled or destroyed).
  void wait(PromiseBase* task) noexcept { task_ = task; }
  void detach() noexcept { task_ = nullptr; }
  // Loop thread: the job has posted back.
  void complete() noexcept {
    if (job_ != 0) {
      loop_->trace_job_done(task_id_, job_, started_, finished_);
    }
    loop_->remove_external_work();
    if (task_ != nullptr) {
      loop_->schedule(std::exchange(task_, nullptr));
    }
  }
  // Loop thread, once complete: the value, or the exception rethrown.
  R take() {
    if (error_) {
      std::rethrow_exception(error_);
    }
    if constexpr (!std::is_void_v<R>) {
      return std::move(*value_);
    }
  }

 private:
  Loop* loop_;
  PromiseBase* task_ = nullptr;
  std::optional<std::tuple<Fn, Args...>> call_;
  std::optional<std::conditional_t<std::is_void_v<R>, char, R>> value_;
  std::exception_ptr error_;
  std::uint64_t job_ = 0;
  std::uint64_t task_id_ = 0;
  std::uint64_t started_ = 0;
  std::uint64_t finished_ = 0;
};

// What the executor runs. Move-only; whether it runs or is destroyed unrun, it posts back to
// the loop exactly once. Posting can fail only when memory runs out; the loop would then
// wait for this job forever, so that terminates (both members are noexcept).
template <class State>
class ThreadJob {
 public:
  explicit ThreadJob(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
  ThreadJob(const ThreadJob&) = delete;
  ThreadJob& operator=(const ThreadJob&) = delete;
  ThreadJob(ThreadJob&&) noexcept = default;
  ThreadJob& operator=(ThreadJob&&) = delete;
  ~ThreadJob() {
    if (state_ != nullptr) {
      state_->dropped();
      post();
    }
  }

  void operator()() noexcept {
    state_->run();
    post();
  }

 private:
  // Nothing here touches the loop once the callback is posted: the loop may then finish.
  void post() noexcept {
    Loop* loop = state_->loop();
    loop->call_soon_threadsafe([state = std::move(state_)] { state->complete(); });
  }

  std::shared_ptr<State> state_;
};

template <class E, class Fn, class... Args>
class ThreadJobAwaiter : WaitNode {
 public:
  using Result = ThreadJobResult<Fn, Args...>;
  static constexpr bool kNothrowMove =
      std::is_nothrow_move_constructible_v<std::tuple<Fn, Args...>>;

  template <class F, class... A>
  explicit ThreadJobAwaiter(E& executor, F&& fn, A&&... args)
      : executor_(&executor), call_(std::in_place, std::forward<F>(fn), std::forward<A>(args)...) {}
  // Copyable (when the call is) and movable until awaited, so it can be passed to timeout().
  ThreadJobAwaiter(const ThreadJobAwaiter&) = default;
  ThreadJobAwaiter& operator=(const ThreadJobAwaiter&) = default;
  ThreadJobAwaiter(ThreadJobAwaiter&&) noexcept(kNothrowMove) = default;
  ThreadJobAwaiter& operator=(ThreadJobAwaiter&&) noexcept(kNothrowMove) = default;
  // A frame destroyed while it waits leaves the job to finish alone.
  ~ThreadJobAwaiter() {
    if (state_ != nullptr) {
      state_->detach();
    }
  }

  [[nodiscard]] bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> h) {
    Loop& loop = Loop::current();
    task_ = loop.current_task();
    if (task_ == nullptr) [[unlikely]] {
      throw Error("to_thread() / run_in_executor() awaited outside a task");
    }
    if (!call_) [[unlikely]] {
      throw Error("a to_thread() / run_in_executor() awaitable can be awaited only once");
    }
    if (task_->consume_pending_cancel()) {
      cancelled_ = true;
      return false;
    }
    state_ = std::make_shared<State>(&loop, std::move(*call_));
    call_.reset();
    const std::uint64_t job = loop.trace_job_queued();
    state_->trace_as(job, task_->id_);
    // Counted before submitting: from here on the job posts back once, even if submit()
    // throws (the job is then destroyed unrun and the exception comes out of co_await).
    loop.add_external_work();
    executor_->submit(ThreadJob<State>(state_));
    task_->continuation_ = h;
    state_->wait(task_);
    on_cancel = &ThreadJobAwaiter::cancelled;
    reason = SuspendReason::kThreadJob;
    object = job;
    task_->wait_ = this;
    return true;
  }

  Result await_resume() {
    // No check of a late cancellation here: the job has run, and its outcome is handed over.
    if (cancelled_) {
      throw CancelledError{};
    }
    return state_->take();
  }

 private:
  using State = ThreadJobState<Result, Fn, Args...>;

  static void cancelled(WaitNode* node) {
    auto* self = static_cast<ThreadJobAwaiter*>(node);
    self->cancelled_ = true;
    self->state_->detach();
    self->task_->loop_->schedule(self->task_);
  }

  E* executor_;
  std::optional<std::tuple<Fn, Args...>> call_;
  std::shared_ptr<State> state_;
  PromiseBase* task_ = nullptr;
  bool cancelled_ = false;
};

template <class F, class... Args>
concept ThreadCallable = std::invocable<std::decay_t<F>, std::decay_t<Args>...> &&
    std::constructible_from<std::decay_t<F>, F> &&
    (std::constructible_from<std::decay_t<Args>, Args>&&...);

}  // namespace detail

// Awaitable: runs std::invoke(fn, args...) on `executor` and returns its result (or rethrows
// its exception) in the awaiting task.
template <Executor E, class F, class... Args>
requires detail::ThreadCallable<F, Args...>
[[nodiscard]] auto run_in_executor(E& executor, F&& fn, Args&&... args) {
  return detail::ThreadJobAwaiter<E, std::decay_t<F>, std::decay_t<Args>...>(
      executor, std::forward<F>(fn), std::forward<Args>(args)...);
}

// Awaitable: run_in_executor on the default thread pool (asyncio.to_thread).
template <class F, class... Args>
requires detail::ThreadCallable<F, Args...>
[[nodiscard]] auto to_thread(F&& fn, Args&&... args) {
  return run_in_executor(default_thread_pool(), std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace loopscope
