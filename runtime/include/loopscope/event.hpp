// Event: a flag that tasks can wait for (asyncio.Event).
//
//   ls::Event ready;
//   ... co_await ready.wait();      // suspends until set() (returns at once if already set)
//   ready.set();                    // wakes every waiter; later waits return immediately
//   ready.clear();
//
// wait() suspends unless the event is set; waiters are resumed through the run queue, in the
// order they started waiting. A waiter cancelled while waiting leaves the queue at once and
// throws CancelledError.
//
// Thread-safety: loop thread only (set() with waiters throws Error from another thread).
// From another thread, use loop.call_soon_threadsafe([&] { event.set(); }).
#pragma once

#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>

#include <coroutine>

namespace loopscope {

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&&) = delete;
  Event& operator=(Event&&) = delete;
  ~Event() = default;

  [[nodiscard]] bool is_set() const noexcept { return set_; }
  // Sets the flag and wakes every waiter. Throws Error if there are waiters and the calling
  // thread is not their loop's.
  void set();
  void clear() noexcept { set_ = false; }

  class WaitAwaiter : detail::WaitNode, public detail::ListNode<WaitAwaiter> {
   public:
    explicit WaitAwaiter(Event* event) noexcept : event_(event) {}
    // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
    WaitAwaiter(const WaitAwaiter&) = default;
    WaitAwaiter& operator=(const WaitAwaiter&) = default;
    WaitAwaiter(WaitAwaiter&&) = default;
    WaitAwaiter& operator=(WaitAwaiter&&) = default;
    ~WaitAwaiter();
    [[nodiscard]] bool await_ready() const noexcept { return event_->set_; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const;

   private:
    friend class Event;
    static void on_cancelled(detail::WaitNode* node);
    Event* event_;
    detail::PromiseBase* task_ = nullptr;
    bool cancelled_ = false;
  };
  [[nodiscard]] WaitAwaiter wait() noexcept { return WaitAwaiter(this); }

 private:
  detail::IntrusiveList<WaitAwaiter> waiters_;
  bool set_ = false;
};

}  // namespace loopscope
