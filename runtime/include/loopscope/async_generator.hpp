// AsyncGenerator<T>: a coroutine that co_yields values and may co_await in between
// (Python's async generator).
//
//   ls::AsyncGenerator<int> ticks(int n) {
//     for (int i = 0; i < n; ++i) { co_await ls::sleep(10ms); co_yield i; }
//   }
//   auto gen = ticks(3);
//   while (auto v = co_await gen.next()) { use(*v); }
//
// The body runs only inside next(), on the consuming task: what it awaits suspends that
// task, and cancelling that task raises CancelledError inside the body (which then ends;
// next() rethrows it). Exceptions of the body propagate to the consumer through next().
// Destroying a generator suspended at a co_yield, or aclose(), destroys its frame, which
// runs the destructors of its locals: put cleanup in RAII objects (C++ cannot await in a
// destructor, so there is no asynchronous `finally`).
//
// A timeout around next() (`co_await ls::timeout(1s, gen.next())`) cancels the body where it
// waits, which ends it: every later next() returns std::nullopt, as if the stream were over.
// Debug mode reports it (generator_closed_by_cancellation) when the consumer asks for more,
// or drops the generator while carrying on. Put the timeout inside the generator instead.
//
// Thread-safety: one consumer at a time; next() while another next() runs throws Error.
#pragma once

#include <loopscope/detail/frame_allocator.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/outcome.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace loopscope {

template <class T>
class [[nodiscard]] AsyncGenerator {
 public:
  class promise_type {
   public:
    // Always inlined into the ramp, as Task's promise: see detail::note_coroutine_created().
    [[gnu::always_inline]] promise_type() noexcept {
      if (detail::t_debug_state != nullptr) [[unlikely]] {
        debug_id_ = detail::note_coroutine_created(
            reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
      }
    }
    static void* operator new(std::size_t size) { return detail::allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
      detail::deallocate_frame(frame, size);
    }
    AsyncGenerator get_return_object() noexcept {
      return AsyncGenerator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct ToConsumer {
      [[nodiscard]] bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
        detail::transfer_to(h.promise().consumer_);
      }
      void await_resume() const noexcept {}
    };
    ToConsumer final_suspend() noexcept {
      finished_ = true;
      return {};
    }
    template <class U>
    requires std::is_convertible_v<U&&, T> ToConsumer yield_value(U&& value)
    noexcept(std::is_nothrow_constructible_v<T, U&&>) {
      value_.emplace(std::forward<U>(value));
      return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {
      exception_ = std::current_exception();
      if (debug_id_ != 0) [[unlikely]] {
        closed_by_cancellation_ = detail::is_cancellation(exception_);
      }
    }

   private:
    friend class AsyncGenerator;
    std::coroutine_handle<> consumer_{};
    std::optional<T> value_;
    std::exception_ptr exception_;
    bool finished_ = false;
    bool running_ = false;
    // Debug mode: the creation stack, and whether the body ended with CancelledError (its
    // consumer's next() was cancelled, or timed out) while the consumer may still want more.
    bool closed_by_cancellation_ = false;
    std::uint32_t debug_id_ = 0;
  };
  using Handle = std::coroutine_handle<promise_type>;

  AsyncGenerator() noexcept = default;
  explicit AsyncGenerator(Handle h) noexcept : h_(h) {}
  AsyncGenerator(AsyncGenerator&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  AsyncGenerator& operator=(AsyncGenerator&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  AsyncGenerator(const AsyncGenerator&) = delete;
  AsyncGenerator& operator=(const AsyncGenerator&) = delete;
  ~AsyncGenerator() { destroy(); }

  // Runs the body to its next co_yield (value) or its end (std::nullopt); rethrows what
  // the body throws. Suspends only if the body does.
  class NextAwaiter {
   public:
    explicit NextAwaiter(Handle h) noexcept : h_(h) {}
    [[nodiscard]] bool await_ready() const noexcept {
      if (!h_) {
        return true;
      }
      promise_type& p = h_.promise();
      if (p.closed_by_cancellation_) [[unlikely]] {
        // The consumer asks for more after a cancellation closed the stream: it gets nothing.
        p.closed_by_cancellation_ = false;
        detail::note_generator_closed(h_, p.debug_id_, true);
      }
      return p.finished_;
    }
    void await_suspend(std::coroutine_handle<> consumer) {
      promise_type& p = h_.promise();
      if (p.running_) {
        throw Error("AsyncGenerator::next() called while another next() is in progress");
      }
      p.running_ = true;
      p.consumer_ = consumer;
      detail::transfer_to(h_);
    }
    std::optional<T> await_resume() {
      if (!h_) {
        return std::nullopt;
      }
      promise_type& p = h_.promise();
      p.running_ = false;
      if (p.exception_) {
        std::rethrow_exception(std::exchange(p.exception_, nullptr));
      }
      if (p.finished_ || !p.value_) {
        return std::nullopt;
      }
      std::optional<T> out(std::move(p.value_));
      p.value_.reset();
      return out;
    }

   private:
    Handle h_;
  };
  [[nodiscard]] NextAwaiter next() noexcept { return NextAwaiter(h_); }

  // Closes the generator: its frame is destroyed, running its locals' destructors. Later
  // next() calls return std::nullopt. Never suspends.
  [[nodiscard]] std::suspend_never aclose() {
    if (h_ && h_.promise().running_) {
      throw Error("AsyncGenerator::aclose() while next() is in progress");
    }
    if (h_) {
      h_.promise().closed_by_cancellation_ = false;  // the consumer is done with the stream
    }
    destroy();
    return {};
  }

  // True once the body has returned or thrown, or after aclose().
  [[nodiscard]] bool finished() const noexcept { return !h_ || h_.promise().finished_; }

 private:
  void destroy() noexcept {
    if (h_) {
      if (h_.promise().closed_by_cancellation_) [[unlikely]] {
        detail::note_generator_closed(h_, h_.promise().debug_id_, false);
      }
      h_.destroy();
      h_ = nullptr;
    }
  }
  Handle h_{};
};

}  // namespace loopscope
