// Semaphore and BoundedSemaphore: counting semaphores (asyncio.Semaphore,
// asyncio.BoundedSemaphore).
//
//   ls::Semaphore sem{10};
//   {
//     ls::SemaphorePermit permit = co_await sem.acquire();  // the `async with sem:`
//     ...                                                   // at most 10 tasks here
//   }                                                       // released by the destructor
//
// acquire() does not suspend while a permit is free; otherwise the task waits in a strict
// FIFO. release() hands the permit straight to the oldest waiter (the count stays at zero),
// so a task that calls acquire() just after a release queues behind the waiters instead of
// barging in. The waiter is resumed through the run queue.
//
// Cancellation: a waiter cancelled while queued leaves the queue and throws CancelledError;
// no permit is taken. A waiter that was handed a permit but is cancelled before it resumes
// passes the permit on to the next waiter (or back to the count) and throws CancelledError,
// as asyncio does. A free permit is taken without looking at pending cancellations (asyncio
// does not suspend there either); they are delivered at the next suspension point.
//
// BoundedSemaphore throws Error from release() when it would raise the count above its
// initial value (a release without a matching acquire).
//
// Thread-safety: loop thread only. A semaphore must outlive its permits and waiters.
#pragma once

#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <limits>
#include <utility>

namespace loopscope {

class Semaphore;

// One permit of a Semaphore, given back when the permit is destroyed (or by release()).
// Move-only; an empty (moved-from or released) permit does nothing.
class SemaphorePermit {
 public:
  SemaphorePermit() noexcept = default;
  explicit SemaphorePermit(Semaphore* semaphore) noexcept : semaphore_(semaphore) {}
  SemaphorePermit(const SemaphorePermit&) = delete;
  SemaphorePermit& operator=(const SemaphorePermit&) = delete;
  SemaphorePermit(SemaphorePermit&& other) noexcept
      : semaphore_(std::exchange(other.semaphore_, nullptr)) {}
  SemaphorePermit& operator=(SemaphorePermit&& other) noexcept {
    if (this != &other) {
      release();
      semaphore_ = std::exchange(other.semaphore_, nullptr);
    }
    return *this;
  }
  ~SemaphorePermit() { release(); }

  // Gives the permit back early. Idempotent.
  void release() noexcept;
  [[nodiscard]] bool owns_permit() const noexcept { return semaphore_ != nullptr; }
  explicit operator bool() const noexcept { return owns_permit(); }

 private:
  Semaphore* semaphore_ = nullptr;
};

class Semaphore {
 public:
  explicit Semaphore(std::size_t value) noexcept : value_(value) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  Semaphore(Semaphore&&) = delete;
  Semaphore& operator=(Semaphore&&) = delete;
  ~Semaphore() = default;

  // co_await acquire() -> SemaphorePermit. Suspends only when no permit is free.
  class AcquireAwaiter : detail::Waiter, public detail::ListNode<AcquireAwaiter> {
   public:
    explicit AcquireAwaiter(Semaphore* semaphore) noexcept : semaphore_(semaphore) {}
    // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
    AcquireAwaiter(const AcquireAwaiter&) = default;
    AcquireAwaiter& operator=(const AcquireAwaiter&) = default;
    AcquireAwaiter(AcquireAwaiter&&) = default;
    AcquireAwaiter& operator=(AcquireAwaiter&&) = default;
    ~AcquireAwaiter();

    // Takes a free permit at once. No waiter can be queued while permits are free, since
    // release() hands permits to waiters before it raises the count.
    [[nodiscard]] bool await_ready() noexcept {
      if (semaphore_->value_ > 0) {
        --semaphore_->value_;
        return true;
      }
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h);
    SemaphorePermit await_resume();

   private:
    friend class Semaphore;
    static void on_cancelled(detail::WaitNode* node);
    Semaphore* semaphore_;
  };

  [[nodiscard]] AcquireAwaiter acquire() noexcept { return AcquireAwaiter(this); }
  // Takes a permit if one is free, without waiting; give it back with release().
  [[nodiscard]] bool try_acquire() noexcept;
  // Gives a permit back: to the oldest waiter if there is one, else to the count.
  // BoundedSemaphore: throws Error if the count is already at its initial value.
  void release();

  // Free permits.
  [[nodiscard]] std::size_t value() const noexcept { return value_; }
  // True if acquire() would suspend.
  [[nodiscard]] bool locked() const noexcept { return value_ == 0; }
  // Tasks queued in acquire().
  [[nodiscard]] std::size_t waiters() const noexcept { return waiter_count_; }

 protected:
  Semaphore(std::size_t value, std::size_t bound) noexcept : value_(value), bound_(bound) {}

 private:
  friend class SemaphorePermit;
  // release() without the bound check: a permit never throws from its destructor, and
  // never raises the count above the bound.
  void give_back() noexcept;

  std::size_t value_;
  std::size_t bound_ = std::numeric_limits<std::size_t>::max();
  std::size_t waiter_count_ = 0;
  detail::IntrusiveList<AcquireAwaiter> waiters_;
};

// A Semaphore whose release() throws Error rather than raise the count above `value`.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t value) noexcept : Semaphore(value, value) {}
};

inline void SemaphorePermit::release() noexcept {
  if (semaphore_ != nullptr) {
    std::exchange(semaphore_, nullptr)->give_back();
  }
}

}  // namespace loopscope
