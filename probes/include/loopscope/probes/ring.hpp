// EventRing: the single-producer, single-consumer buffer between a loop thread and the
// collector.
//
// The producer (the loop thread) writes whole events (an Event and its EventExt records)
// without a lock, an allocation or a system call: a bounds check against the consumer's
// position (re-read only when the ring looks full), the copy, and a release store of the new
// head. A full ring drops the event and counts it; the producer never waits. The consumer
// reads what was published and releases the space with a release store of the tail.
//
// Capacity is a power of two of 16-byte slots, mapped once when the ring is created.
#pragma once

#include <loopscope/probes/event.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace loopscope::probes {

class EventRing {
 public:
  // `slots` is rounded up to a power of two (at least 64).
  explicit EventRing(std::size_t slots);
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;
  EventRing(EventRing&&) = delete;
  EventRing& operator=(EventRing&&) = delete;
  ~EventRing();

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  // ---- producer side (one thread) ----

  // Writes `event` followed by `ext` (event.ext must equal ext.size()). Returns false and
  // counts a drop if the ring has no room.
  bool write(const Event& event, std::span<const EventExt> ext = {}) noexcept {
    const std::uint64_t n = 1 + ext.size();
    if (head_ + n - cached_tail_ > capacity()) [[unlikely]] {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head_ + n - cached_tail_ > capacity()) {
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
      }
    }
    slot(head_) = as_slot(event);
    for (std::size_t i = 0; i < ext.size(); ++i) {
      slot(head_ + 1 + i) = as_slot(ext[i]);
    }
    head_ += n;
    published_.store(head_, std::memory_order_release);
    return true;
  }

  // ---- consumer side (one thread) ----

  // Slots published and not yet consumed, as up to two contiguous spans (the ring wraps).
  struct Readable {
    std::span<const Event> first;
    std::span<const Event> second;
    [[nodiscard]] std::size_t size() const noexcept { return first.size() + second.size(); }
  };
  [[nodiscard]] Readable readable() const noexcept;
  // Releases `n` slots read through readable().
  void consume(std::size_t n) noexcept;
  // Events dropped so far because the ring was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  // Every slot is stored as an Event-shaped 16-byte record; EventExt records are bit-copied.
  static Event as_slot(const Event& e) noexcept { return e; }
  static Event as_slot(const EventExt& x) noexcept;
  Event& slot(std::uint64_t index) noexcept { return slots_[index & mask_]; }

  // Producer-owned line (the slot pointer and mask are only read after construction).
  alignas(64) std::uint64_t head_ = 0;
  std::uint64_t cached_tail_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  Event* slots_;
  std::uint64_t mask_;
  // Shared lines: written by one side each.
  alignas(64) std::atomic<std::uint64_t> published_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t consumer_tail_ = 0;
};

}  // namespace loopscope::probes
