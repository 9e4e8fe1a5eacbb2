// Lock: a mutual-exclusion lock for tasks (asyncio.Lock).
//
//   ls::Lock lock;
//   {
//     ls::LockGuard guard = co_await lock.acquire();  // the `async with lock:`
//     ...                                             // one task at a time here
//   }                                                 // released by the destructor
//
// acquire() does not suspend while the lock is free; otherwise the task waits in a strict
// FIFO. Unlocking hands the lock straight to the oldest waiter, which becomes the owner
// and is resumed through the run queue; a task that calls acquire() meanwhile queues
// behind it.
//
// The owner is the task that acquired the lock. Lock::release() from any other task, or
// from outside a task, throws Error: unlike asyncio, which lets any task release, this
// catches the classic "released the lock I did not take" bug at its source. A LockGuard
// always releases its own acquisition (from its destructor, or release()).
//
// Cancellation: as for Semaphore. A waiter cancelled while queued leaves the queue and
// throws CancelledError; one that was handed the lock but is cancelled before it resumes
// hands it on to the next waiter and throws CancelledError.
//
// Thread-safety: loop thread only. A lock must outlive its guards and waiters.
#pragma once

#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace loopscope {

class Lock;

// The ownership of a Lock, released when the guard is destroyed (or by release()).
// Move-only; an empty (moved-from or released) guard does nothing, and so does a guard
// whose acquisition already ended through Lock::release().
class LockGuard {
 public:
  LockGuard() noexcept = default;
  LockGuard(Lock* lock, std::uint64_t acquisition) noexcept
      : lock_(lock), acquisition_(acquisition) {}
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  LockGuard(LockGuard&& other) noexcept
      : lock_(std::exchange(other.lock_, nullptr)), acquisition_(other.acquisition_) {}
  LockGuard& operator=(LockGuard&& other) noexcept {
    if (this != &other) {
      release();
      lock_ = std::exchange(other.lock_, nullptr);
      acquisition_ = other.acquisition_;
    }
    return *this;
  }
  ~LockGuard() { release(); }

  // Unlocks early. Idempotent.
  void release() noexcept;
  [[nodiscard]] bool owns_lock() const noexcept { return lock_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }
  // The lock this guard holds, or null.
  [[nodiscard]] Lock* lock() const noexcept { return lock_; }

 private:
  Lock* lock_ = nullptr;
  std::uint64_t acquisition_ = 0;  // which acquisition of the lock this guard holds
};

class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  Lock(Lock&&) = delete;
  Lock& operator=(Lock&&) = delete;
  ~Lock() = default;

  // co_await acquire() -> LockGuard. Suspends only while the lock is held.
  class AcquireAwaiter : detail::Waiter, public detail::ListNode<AcquireAwaiter> {
   public:
    explicit AcquireAwaiter(Lock* lock) noexcept : lock_(lock) {}
    // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
    AcquireAwaiter(const AcquireAwaiter&) = default;
    AcquireAwaiter& operator=(const AcquireAwaiter&) = default;
    AcquireAwaiter(AcquireAwaiter&&) = default;
    AcquireAwaiter& operator=(AcquireAwaiter&&) = default;
    ~AcquireAwaiter();

    // Takes a free lock at once (nobody can be queued on a free lock: unlocking hands it
    // to the oldest waiter).
    [[nodiscard]] bool await_ready() {
      if (!lock_->locked_) {
        lock_->take(current_task_or_throw());
        return true;
      }
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h);
    LockGuard await_resume();

   private:
    friend class Lock;
    static detail::PromiseBase* current_task_or_throw();
    static void on_cancelled(detail::WaitNode* node);
    Lock* lock_;
  };

  [[nodiscard]] AcquireAwaiter acquire() noexcept { return AcquireAwaiter(this); }
  // Unlocks a lock the current task owns (prefer letting the LockGuard do it). Throws
  // Error if the lock is not held, or is held by another task.
  void release();

  [[nodiscard]] bool locked() const noexcept { return locked_; }
  // Tasks queued in acquire().
  [[nodiscard]] std::size_t waiters() const noexcept { return waiter_count_; }

 private:
  friend class LockGuard;
  void take(detail::PromiseBase* owner) noexcept {
    locked_ = true;
    owner_ = owner;
    ++acquisitions_;
  }
  // Hands the lock to the oldest waiter, or frees it.
  void unlock() noexcept;
  // What a guard does: unlocks only if its own acquisition is still the current one, so a
  // guard outliving an explicit release() cannot unlock someone else's acquisition.
  void unlock_acquisition(std::uint64_t acquisition) noexcept {
    if (locked_ && acquisitions_ == acquisition) {
      unlock();
    }
  }

  detail::PromiseBase* owner_ = nullptr;
  std::uint64_t acquisitions_ = 0;
  detail::IntrusiveList<AcquireAwaiter> waiters_;
  std::size_t waiter_count_ = 0;
  bool locked_ = false;
};

inline void LockGuard::release() noexcept {
  if (lock_ != nullptr) {
    std::exchange(lock_, nullptr)->unlock_acquisition(acquisition_);
  }
}

}  // namespace loopscope
