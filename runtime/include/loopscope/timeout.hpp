// timeout(d, awaitable): awaits `awaitable`, but if it has not finished after `d` the
// current task is cancelled and the CancelledError that comes out is turned into
// TimeoutError (asyncio.timeout / wait_for). The inner work is therefore cancelled:
// a Task awaited inline sees CancelledError at its suspension point; a TaskHandle's task is
// cancelled and waited for.
//
//   try { auto page = co_await ls::timeout(50ms, fetch("slow")); }
//   catch (const ls::TimeoutError&) { ... }
//
// A cancellation of the task from elsewhere stays a CancelledError. If the work finishes
// although the timer fired (it ignored the cancellation), its value is returned.
#pragma once

#include <loopscope/clock.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/timer_heap.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/task.hpp>

#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

namespace loopscope {

namespace detail {

template <class A>
concept HasMemberCoAwait = requires(A&& a) {
  std::forward<A>(a).operator co_await();
};

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (HasMemberCoAwait<A>) {
    return std::forward<A>(a).operator co_await();
  } else {
    return std::forward<A>(a);
  }
}

template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

// Arms a timer that cancels `task` when it fires; disarmed on destruction.
class TimeoutTimer : TimerNode {
 public:
  TimeoutTimer(Duration delay, PromiseBase* task);
  TimeoutTimer(const TimeoutTimer&) = delete;
  TimeoutTimer& operator=(const TimeoutTimer&) = delete;
  TimeoutTimer(TimeoutTimer&&) = delete;
  TimeoutTimer& operator=(TimeoutTimer&&) = delete;
  ~TimeoutTimer();

  [[nodiscard]] bool expired() const noexcept { return expired_; }
  // After the awaited work ended: withdraws our cancellation if the timer fired. Returns
  // true if the ending should be reported as TimeoutError (no other cancellation remains).
  bool settle() noexcept;

 private:
  static void on_expired(TimerNode* node);
  PromiseBase* task_;
  bool expired_ = false;
};

}  // namespace detail

template <class Rep, class Period, class A>
Task<detail::await_result_t<A>> timeout(std::chrono::duration<Rep, Period> delay, A awaitable) {
  using R = detail::await_result_t<A>;
  detail::TimeoutTimer timer(std::chrono::duration_cast<Duration>(delay),
                             Loop::current().current_task());
  bool timed_out = false;
  std::optional<std::conditional_t<std::is_void_v<R>, char, R>> value;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await std::move(awaitable);
    } else {
      value.emplace(co_await std::move(awaitable));
    }
  } catch (const CancelledError&) {
    if (!timer.settle()) {
      throw;
    }
    timed_out = true;
  }
  if (timed_out) {
    throw TimeoutError("timed out after " +
                       std::to_string(std::chrono::duration<double, std::milli>(delay).count()) +
                       " ms");
  }
  timer.settle();
  if constexpr (!std::is_void_v<R>) {
    co_return std::move(*value);
  }
}

}  // namespace loopscope
