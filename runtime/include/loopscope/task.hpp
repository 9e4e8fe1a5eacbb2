// Task<T>: a lazy coroutine that produces a T.
//
// A Task does nothing until it is awaited (it then runs inside the awaiting task, like
// `await coro()` in asyncio) or spawned (it becomes a task of its own, see task_handle.hpp).
// It is move-only and owns its coroutine frame. Awaiting transfers control into the child
// and, from the child's final suspend, back to the parent without nesting calls (see
// detail::transfer_to), so an await chain of any depth runs in constant stack.
//
//   ls::Task<int> answer() { co_return 42; }
//   ls::Task<void> amain() { int v = co_await answer(); }
//
// A Task destroyed without ever being awaited or spawned is reported on stderr
// ("coroutine ... was never awaited"), as asyncio does.
#pragma once

#include <loopscope/detail/frame_allocator.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/errors.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace loopscope {

template <class T = void>
class Task;

namespace detail {

// Starts the body only when resumed: by the awaiter of a Task, or by the loop for a task.
// A task cancelled before its first step never runs its body: await_resume throws.
struct InitialAwaiter {
  PromiseBase* promise;
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> /*unused*/) const noexcept {}
  void await_resume() const {
    if (promise->consume_pending_cancel()) [[unlikely]] {
      throw CancelledError{};
    }
  }
};

// At the end of a coroutine: a task root publishes its outcome and returns to the loop; an
// awaited coroutine hands control straight back to its awaiter (see transfer_to).
struct FinalAwaiter {
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) const noexcept {
    PromiseBase& p = h.promise();
    if (p.is_root()) {
      p.finish_task();  // may destroy the frame: touch nothing afterwards
    } else {
      transfer_to(p.continuation_);
    }
  }
  void await_resume() const noexcept {}
};

// The promise constructors are always inlined into the coroutine's ramp, even without
// optimization: debug mode's creation stack starts with the ramp's caller's frames.
template <class T>
class TaskPromiseCommon : public PromiseBase {
 public:
  [[gnu::always_inline]] TaskPromiseCommon() noexcept = default;
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept {
    deallocate_frame(frame, size);
  }

  InitialAwaiter initial_suspend() noexcept { return {this}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept {
    exception_ = std::current_exception();
    if (is_root()) {
      record_task_exception();
    }
  }
};

template <class T>
class Promise final : public TaskPromiseCommon<T> {
 public:
  [[gnu::always_inline]] Promise() noexcept = default;
  Task<T> get_return_object() noexcept;
  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
  }
  // The result, or the exception rethrown. Valid once the coroutine has finished.
  T& result() & {
    this->rethrow_if_failed();
    return *value_;
  }

 private:
  std::optional<T> value_;
};

template <>
class Promise<void> final : public TaskPromiseCommon<void> {
 public:
  [[gnu::always_inline]] Promise() noexcept = default;
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void result() { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  explicit Task(Handle h) noexcept : h_(h) {}
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  // False for a moved-from Task.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }

  // Gives up ownership of the frame (spawn() takes it this way).
  Handle release() noexcept { return std::exchange(h_, nullptr); }

  // Suspends the awaiter, runs the body to completion on the awaiter's task, then returns
  // its value or rethrows its exception. A Task can be awaited once.
  class Awaiter {
   public:
    explicit Awaiter(Handle h) noexcept : h_(h) {}
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> awaiter) noexcept {
      h_.promise().continuation_ = awaiter;
      detail::transfer_to(h_);
    }
    T await_resume() {
      if constexpr (std::is_void_v<T>) {
        h_.promise().result();
      } else {
        return std::move(h_.promise().result());
      }
    }

   private:
    Handle h_;
  };

  Awaiter operator co_await() && { return Awaiter(take_for_await()); }
  Awaiter operator co_await() & { return Awaiter(take_for_await()); }

 private:
  Handle take_for_await() {
    if (!h_) {
      throw Error("co_await of an empty Task (moved from, or spawned)");
    }
    if (h_.promise().started_) {
      throw Error("a Task can be awaited only once");
    }
    h_.promise().started_ = true;
    return h_;
  }
  void reset() noexcept {
    if (h_) {
      if (!h_.promise().started_) {
        detail::report_never_awaited(h_, h_.promise().debug_id_);
      }
      h_.destroy();
      h_ = nullptr;
    }
  }

  Handle h_{};
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace loopscope
