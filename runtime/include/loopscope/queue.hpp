// Queue<T>, PriorityQueue<T, Compare>, LifoQueue<T>: queues between tasks (asyncio.Queue,
// asyncio.PriorityQueue, asyncio.LifoQueue, with Python 3.13's shutdown()).
//
//   ls::Queue<int> q{10};                  // maxsize 10; 0 means unbounded
//   co_await q.put(1);                     // suspends while the queue is full
//   int v = co_await q.get();              // suspends while it is empty
//   q.task_done();                         // once per item taken, for join()
//   co_await q.join();                     // until every item put has been marked done
//   q.shutdown();                          // put and (once drained) get throw QueueShutDown
//
// put() and get() suspend only when they must: otherwise they complete inside await_ready
// and cost a few nanoseconds. Waiting putters and getters are served in FIFO order and are
// resumed through the run queue. An item put while a getter waits goes straight into that
// getter's awaiter; a get from a full queue moves the oldest waiting putter's item into the
// queue and wakes the putter. Waiting therefore allocates nothing.
//
// Cancellation: a waiter cancelled while queued leaves the queue and throws
// CancelledError; a cancelled put leaves no trace, and a cancelled get takes nothing (the
// next item goes to the next getter). Once an item has been handed to a getter, or a
// putter's item has entered the queue, the operation completes and a later cancellation
// is delivered at the task's next suspension point: no item is ever lost.
//
// shutdown(immediate = false): put (waiting or not) throws QueueShutDown from then on; get
// throws it once the queue is empty, so waiting getters wake with it. immediate = true also
// drops the items still queued (counting them done, which may release join()).
//
// Thread-safety: loop thread only. A queue must outlive its waiters.
#pragma once

#include <loopscope/detail/intrusive_list.hpp>
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/queue_buffer.hpp>
#include <loopscope/detail/waiter.hpp>
#include <loopscope/errors.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace loopscope {

namespace detail {

template <class T>
inline constexpr bool kNothrowMovable =
    std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_assignable_v<T>;

// The part of every queue that does not depend on the item type: the size limit, the
// shutdown flag and the unfinished-task count behind task_done() and join().
class QueueBase {
 public:
  QueueBase(const QueueBase&) = delete;
  QueueBase& operator=(const QueueBase&) = delete;
  QueueBase(QueueBase&&) = delete;
  QueueBase& operator=(QueueBase&&) = delete;
  ~QueueBase() = default;

  // co_await join(): suspends until the unfinished count is zero.
  class JoinAwaiter : Waiter, public ListNode<JoinAwaiter> {
   public:
    explicit JoinAwaiter(QueueBase* queue) noexcept : queue_(queue) {}
    // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
    JoinAwaiter(const JoinAwaiter&) = default;
    JoinAwaiter& operator=(const JoinAwaiter&) = default;
    JoinAwaiter(JoinAwaiter&&) = default;
    JoinAwaiter& operator=(JoinAwaiter&&) = default;
    ~JoinAwaiter();
    [[nodiscard]] bool await_ready() const noexcept { return queue_->unfinished_ == 0; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const;

   private:
    friend class QueueBase;
    static void on_cancelled(WaitNode* node);
    QueueBase* queue_;
  };

  // Marks one item taken by get() as processed. Throws Error if called more times than
  // items were put (asyncio's ValueError).
  void task_done();
  [[nodiscard]] JoinAwaiter join() noexcept { return JoinAwaiter(this); }

  [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
  [[nodiscard]] bool is_shutdown() const noexcept { return shutdown_; }
  // Items put and not yet marked done.
  [[nodiscard]] std::size_t unfinished_tasks() const noexcept { return unfinished_; }

 protected:
  explicit QueueBase(std::size_t maxsize) noexcept : maxsize_(maxsize) {}
  // Counts `dropped` items as done (an immediate shutdown) and releases join() if that
  // finishes them all.
  void drop_unfinished(std::size_t dropped) noexcept;

  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  bool shutdown_ = false;

 private:
  IntrusiveList<JoinAwaiter> joiners_;
};

}  // namespace detail

// The queue; `Buffer` decides the order items come out in (see detail/queue_buffer.hpp).
template <class T, class Buffer>
class BasicQueue : public detail::QueueBase {
 public:
  using value_type = T;

  // maxsize 0: unbounded.
  explicit BasicQueue(std::size_t maxsize = 0) : QueueBase(maxsize) {
    if (maxsize > 0) {
      items_.reserve(std::min(maxsize, kMaxReserve));
    }
  }

  // co_await get() -> T. Suspends while the queue is empty and not shut down.
  class GetAwaiter : detail::Waiter, public detail::ListNode<GetAwaiter> {
   public:
    explicit GetAwaiter(BasicQueue* queue) noexcept : queue_(queue) {}
    // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
    GetAwaiter(const GetAwaiter&) = default;
    GetAwaiter& operator=(const GetAwaiter&) = default;
    GetAwaiter(GetAwaiter&&) noexcept(detail::kNothrowMovable<T>) = default;
    GetAwaiter& operator=(GetAwaiter&&) noexcept(detail::kNothrowMovable<T>) = default;
    ~GetAwaiter() {
      if (waiting()) {
        queue_->getters_.remove(this);  // the frame is destroyed while it waits
      }
    }

    [[nodiscard]] bool await_ready() {
      if (!queue_->items_.empty()) [[likely]] {
        item_.emplace(queue_->take());
        return true;
      }
      return queue_->shutdown_;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (!begin_wait(h, "Queue::get()")) {
        return false;
      }
      queue_->getters_.push_back(this);
      park(detail::SuspendReason::kQueueGet, &GetAwaiter::on_cancelled, queue_);
      return true;
    }
    T await_resume() {
      if (item_.has_value()) [[likely]] {
        return std::move(*item_);
      }
      if (cancelled_) {
        throw CancelledError{};
      }
      throw QueueShutDown("get() from a queue that is shut down and empty");
    }

   private:
    friend class BasicQueue;
    static void on_cancelled(detail::WaitNode* node) {
      auto* self = static_cast<GetAwaiter*>(node);
      self->cancelled_ = true;
      self->queue_->getters_.remove(self);
      self->wake();
    }
    BasicQueue* queue_;
    std::optional<T> item_;  // filled by await_ready or by the put that wakes us
  };

  // co_await put(item). Suspends while the queue is full and not shut down.
  class PutAwaiter : detail::Waiter, public detail::ListNode<PutAwaiter> {
   public:
    PutAwaiter(BasicQueue* queue, T item) : queue_(queue), item_(std::move(item)) {}
    // Copyable until awaited (so it can be passed to timeout()); never copied once suspended.
    PutAwaiter(const PutAwaiter&) = default;
    PutAwaiter& operator=(const PutAwaiter&) = default;
    PutAwaiter(PutAwaiter&&) noexcept(detail::kNothrowMovable<T>) = default;
    PutAwaiter& operator=(PutAwaiter&&) noexcept(detail::kNothrowMovable<T>) = default;
    ~PutAwaiter() {
      if (waiting()) {
        queue_->putters_.remove(this);  // the frame is destroyed while it waits
      }
    }

    [[nodiscard]] bool await_ready() {
      if (queue_->shutdown_) [[unlikely]] {
        return true;
      }
      done_ = queue_->try_put(item_);
      return done_;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      if (!begin_wait(h, "Queue::put()")) {
        return false;
      }
      queue_->putters_.push_back(this);
      park(detail::SuspendReason::kQueuePut, &PutAwaiter::on_cancelled, queue_);
      return true;
    }
    void await_resume() const {
      if (done_) [[likely]] {
        return;
      }
      if (cancelled_) {
        throw CancelledError{};
      }
      throw QueueShutDown("put() to a queue that is shut down");
    }

   private:
    friend class BasicQueue;
    static void on_cancelled(detail::WaitNode* node) {
      auto* self = static_cast<PutAwaiter*>(node);
      self->cancelled_ = true;
      self->queue_->putters_.remove(self);
      self->wake();
    }
    BasicQueue* queue_;
    T item_;
    bool done_ = false;
  };

  [[nodiscard]] GetAwaiter get() noexcept { return GetAwaiter(this); }
  [[nodiscard]] PutAwaiter put(T item) { return PutAwaiter(this, std::move(item)); }

  // Takes an item without waiting. Throws QueueEmpty, or QueueShutDown if the queue is
  // empty and shut down.
  T get_nowait() {
    if (PutAwaiter* putter = putters_.front()) {
      putter->check_waker_thread("Queue::get_nowait");
    }
    if (items_.empty()) {
      if (shutdown_) {
        throw QueueShutDown("get_nowait() from a queue that is shut down and empty");
      }
      throw QueueEmpty("get_nowait() from an empty queue");
    }
    return take();
  }
  // Adds an item without waiting. Throws QueueFull, or QueueShutDown after shutdown().
  void put_nowait(T item) {
    if (GetAwaiter* getter = getters_.front()) {
      getter->check_waker_thread("Queue::put_nowait");
    }
    if (shutdown_) {
      throw QueueShutDown("put_nowait() to a queue that is shut down");
    }
    if (!try_put(item)) {
      throw QueueFull("put_nowait() to a full queue");
    }
  }

  // Stops the queue (see the header comment); wakes every waiting putter and getter.
  void shutdown(bool immediate = false) {
    if (GetAwaiter* getter = getters_.front()) {
      getter->check_waker_thread("Queue::shutdown");
    }
    if (PutAwaiter* putter = putters_.front()) {
      putter->check_waker_thread("Queue::shutdown");
    }
    shutdown_ = true;
    if (immediate) {
      const std::size_t dropped = items_.size();
      items_.clear();
      drop_unfinished(dropped);
    }
    // Getters wait only on an empty queue and putters only on a full one, so all of them
    // now fail with QueueShutDown.
    while (GetAwaiter* getter = getters_.pop_front()) {
      getter->wake();
    }
    while (PutAwaiter* putter = putters_.pop_front()) {
      putter->wake();
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }

 private:
  // A bounded queue reserves its whole capacity unless it is very large.
  static constexpr std::size_t kMaxReserve = 1024;

  // Puts `item` (moved from on success) to the oldest waiting getter, or into the queue
  // if there is room. Invariant: getters wait only while the queue is empty.
  bool try_put(T& item) {
    if (GetAwaiter* getter = getters_.front()) {
      getter->item_.emplace(std::move(item));  // before unlinking, in case the move throws
      getters_.remove(getter);
      getter->wake();
    } else if (full()) {
      return false;
    } else {
      items_.push(std::move(item));
    }
    ++unfinished_;
    return true;
  }

  // Takes the next item (the queue is not empty) and lets the oldest waiting putter fill
  // the place. Invariant: putters wait only while the queue is full.
  T take() {
    T item = items_.pop();
    if (PutAwaiter* putter = putters_.front()) {
      items_.push(std::move(putter->item_));
      putters_.remove(putter);
      putter->done_ = true;
      ++unfinished_;
      putter->wake();
    }
    return item;
  }

  Buffer items_;
  detail::IntrusiveList<GetAwaiter> getters_;
  detail::IntrusiveList<PutAwaiter> putters_;
};

// First in, first out (asyncio.Queue).
template <class T>
using Queue = BasicQueue<T, detail::RingBuffer<T>>;

// Smallest item first under `Compare` (asyncio.PriorityQueue).
template <class T, class Compare = std::less<T>>
using PriorityQueue = BasicQueue<T, detail::HeapBuffer<T, Compare>>;

// Last in, first out (asyncio.LifoQueue).
template <class T>
using LifoQueue = BasicQueue<T, detail::StackBuffer<T>>;

}  // namespace loopscope
