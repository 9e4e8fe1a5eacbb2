// Condition: a condition variable for tasks (asyncio.Condition), over its own Lock or a
// given one.
//
//   ls::Condition cond;
//   ls::LockGuard guard = co_await cond.acquire();
//   co_await cond.wait_for(guard, [&] { return !items.empty(); });
//   ...                                          // the lock is held again here
//   // elsewhere, holding the lock:  cond.notify();  or  cond.notify_all();
//
// wait(guard) releases the lock held by `guard`, suspends until a notify() picks it (in
// the order the tasks started waiting), then re-acquires the lock into `guard` before it
// returns. It re-acquires even when it is cancelled, as asyncio does, so the caller's
// critical section never continues without the lock; CancelledError is thrown afterwards.
// A waiter that was notified but is cancelled before it resumes passes the notification on
// to the next waiter (Python 3.13 does the same). wait() is a Task: `guard` must outlive it.
//
// notify() and notify_all() must be called with the lock held (else Error) and wake the
// waiters through the run queue.
//
// Thread-safety: loop thread only. A condition must outlive its waiters.
#pragma once

#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/lock.hpp>
#include <loopscope/task.hpp>

#include <cstddef>

namespace loopscope {

class Condition {
 public:
  Condition() noexcept : lock_(&own_lock_) {}
  // A condition over a lock shared with other code (or other conditions).
  explicit Condition(Lock& lock) noexcept : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;
  Condition(Condition&&) = delete;
  Condition& operator=(Condition&&) = delete;
  ~Condition() = default;

  [[nodiscard]] Lock& lock() const noexcept { return *lock_; }
  [[nodiscard]] Lock::AcquireAwaiter acquire() const noexcept { return lock_->acquire(); }
  [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }

  // Releases the lock, waits for a notification, re-acquires the lock into `guard`.
  // Throws Error if `guard` does not hold this condition's lock.
  Task<void> wait(LockGuard& guard);
  // Waits until `predicate()` is true; it is checked with the lock held, first at once.
  template <class Predicate>
  Task<void> wait_for(LockGuard& guard, Predicate predicate) {
    while (!predicate()) {
      co_await wait(guard);
    }
  }

  // Wakes up to `n` waiters (the oldest first). Throws Error unless the lock is held.
  void notify(std::size_t n = 1);
  void notify_all() { notify(waiter_count_); }
  // Tasks waiting for a notification.
  [[nodiscard]] std::size_t waiters() const noexcept { return waiter_count_; }

 private:
  class NotifyAwaiter;
  void wake(std::size_t n) noexcept;

  Lock own_lock_;
  Lock* lock_;
  detail::IntrusiveList<NotifyAwaiter> waiters_;
  std::size_t waiter_count_ = 0;
};

}  // namespace loopscope
