// The containers behind BasicQueue: they decide which item get() returns next.
//
//   RingBuffer<T>          first in, first out (Queue)
//   StackBuffer<T>         last in, first out (LifoQueue)
//   HeapBuffer<T, Compare> smallest first, like asyncio's heapq (PriorityQueue)
//
// Each offers empty(), size(), reserve(n), push(T&&), pop() -> T (not empty) and clear().
// A bounded queue reserves its capacity up front, so a steady put/get stream allocates
// nothing.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace loopscope::detail {

// A growable circular buffer whose capacity is a power of two (the index wraps with a
// mask). Unlike std::deque it keeps one contiguous block and never allocates per item.
template <class T>
class RingBuffer {
 public:
  RingBuffer() = default;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;
  RingBuffer(RingBuffer&&) = delete;
  RingBuffer& operator=(RingBuffer&&) = delete;
  ~RingBuffer() {
    clear();
    if (data_ != nullptr) {
      std::allocator<T>().deallocate(data_, capacity_);
    }
  }

  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  void reserve(std::size_t n) {
    if (n > capacity_) {
      reallocate(std::bit_ceil(n));
    }
  }

  void push(T&& item) {
    if (size_ == capacity_) [[unlikely]] {
      reallocate(capacity_ == 0 ? kInitialCapacity : capacity_ * 2);
    }
    std::construct_at(data_ + ((head_ + size_) & (capacity_ - 1)), std::move(item));
    ++size_;
  }

  T pop() {
    T& slot = data_[head_];
    T item(std::move(slot));
    std::destroy_at(&slot);
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
    return item;
  }

  void clear() noexcept {
    for (; size_ > 0; --size_) {
      std::destroy_at(data_ + head_);
      head_ = (head_ + 1) & (capacity_ - 1);
    }
    head_ = 0;
  }

 private:
  static constexpr std::size_t kInitialCapacity = 16;

  // Moves the items, oldest first, to the start of a new block of `capacity` slots.
  // Copies instead of moving when a move could throw, so a failure leaves us unchanged.
  void reallocate(std::size_t capacity) {
    std::allocator<T> alloc;
    T* data = alloc.allocate(capacity);
    std::size_t built = 0;
    try {
      for (; built < size_; ++built) {
        std::construct_at(data + built,
                          std::move_if_noexcept(data_[(head_ + built) & (capacity_ - 1)]));
      }
    } catch (...) {
      std::destroy_n(data, built);
      alloc.deallocate(data, capacity);
      throw;
    }
    const std::size_t size = size_;
    clear();
    if (data_ != nullptr) {
      alloc.deallocate(data_, capacity_);
    }
    data_ = data;
    capacity_ = capacity;
    size_ = size;
  }

  T* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

template <class T>
class StackBuffer {
 public:
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  void reserve(std::size_t n) { items_.reserve(n); }
  void push(T&& item) { items_.push_back(std::move(item)); }
  T pop() {
    T item(std::move(items_.back()));
    items_.pop_back();
    return item;
  }
  void clear() noexcept { items_.clear(); }

 private:
  std::vector<T> items_;
};

// A binary min-heap under `Compare` (std::less: the smallest item comes out first).
template <class T, class Compare>
class HeapBuffer {
 public:
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  void reserve(std::size_t n) { items_.reserve(n); }
  void push(T&& item) {
    items_.push_back(std::move(item));
    std::push_heap(items_.begin(), items_.end(), Greater{compare_});
  }
  T pop() {
    std::pop_heap(items_.begin(), items_.end(), Greater{compare_});
    T item(std::move(items_.back()));
    items_.pop_back();
    return item;
  }
  void clear() noexcept { items_.clear(); }

 private:
  // std::*_heap keep the largest on top; reversing the comparison keeps the smallest.
  struct Greater {
    const Compare& compare;
    bool operator()(const T& a, const T& b) const { return compare(b, a); }
  };

  std::vector<T> items_;
  [[no_unique_address]] Compare compare_{};
};

}  // namespace loopscope::detail
