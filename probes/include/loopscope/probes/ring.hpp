// EventRing: the single-producer, single-consumer buffer between a loop thread and the
// collector.
//
// The producer (the loop thread) appends whole events (an Event and its EventExt records)
// without a lock, an allocation or a system call: one compare against a precomputed limit,
// the copy, and the new head in a plain variable. Appended events become visible to the
// consumer when the producer publishes them (a release store of the head): the loop does so
// at each clock read, so that the consumer sees whole runs of untimed events closed by a
// timed one, and the ring does so by itself every kPublishEvery slots and whenever it looks
// full. A full ring drops the event and counts it (as the events of a trace it stands for);
// the producer never waits. The consumer reads what was published and releases the space
// with a release store of the tail.
//
// Capacity is a power of two of 16-byte slots, mapped once when the ring is created.
#pragma once

#include <loopscope/probes/event.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

  // Appends `event` followed by `ext` (the count bits of event.ext must equal ext.size())
  // without publishing it. Returns false and counts a drop if the ring has no room.
  bool append(const Event& event, std::span<const EventExt> ext = {}) noexcept {
    return append_words(event.time, pack_header(event.task, event.arg, event.kind, event.ext), ext);
  }
  // append() of an event given as its two 8-byte words (`time`, then pack_header()). The
  // words are stored as such: an Event built in memory field by field and copied as one
  // 16-byte value would stall on store forwarding (~5 ns, measured).
  bool append_words(std::uint64_t time, std::uint64_t header,
                    std::span<const EventExt> ext = {}) noexcept {
    if (static_cast<std::size_t>(stop_ - cursor_) <= ext.size()) [[unlikely]] {
      return append_slow(from_words(time, header), ext);
    }
    // Through a local pointer: a store through cursor_ itself could alias cursor_, which
    // the compiler would then reload after each store.
    Event* const slot = cursor_;
    prefetch();
    std::memcpy(slot, &time, sizeof(time));
    std::memcpy(reinterpret_cast<char*>(slot) + sizeof(time), &header, sizeof(header));
    if (!ext.empty()) {
      std::memcpy(slot + 1, ext.data(), ext.size_bytes());
    }
    cursor_ = slot + 1 + ext.size();
    return true;
  }
  // Makes everything appended so far visible to the consumer.
  void publish() noexcept { published_.store(head(), std::memory_order_release); }
  // append() and publish().
  bool write(const Event& event, std::span<const EventExt> ext = {}) noexcept {
    const bool written = append(event, ext);
    publish();
    return written;
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
  // Events dropped so far because the ring was full, counted as the events of a trace they
  // stand for (a compact step is two).
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  // Slots are written to memory that has not been touched for a lap of the ring (32 MiB by
  // default), far out of the cache: asking for the line a kilobyte ahead for writing hides
  // that miss, which otherwise costs a 6 ns step about 2 ns (measured on the loop's yield).
  static constexpr std::size_t kPrefetchAhead = 64;
  void prefetch() const noexcept {
    // Past the end of the mapping it is a no-op: prefetches do not fault.
    __builtin_prefetch(cursor_ + kPrefetchAhead, 1, 3);
  }

  // The producer publishes by itself at least this often, so that the consumer can drain a
  // long run of events written without a clock read (a step spawning thousands of tasks).
  static constexpr std::uint64_t kPublishEvery = 4096;

  // Every slot is stored as an Event-shaped 16-byte record; EventExt records are bit-copied.
  static Event as_slot(const EventExt& x) noexcept;
  static Event from_words(std::uint64_t time, std::uint64_t header) noexcept;
  // The index of the next slot to write.
  [[nodiscard]] std::uint64_t head() const noexcept {
    return lap_start_ + static_cast<std::uint64_t>(cursor_ - slots_);
  }
  // The path for everything but a plain append with room: the ring's end, a publication
  // that is due, a full ring (publishes, re-reads the consumer's tail, moves stop_).
  bool append_slow(const Event& event, std::span<const EventExt> ext) noexcept;
  void count_drop(const Event& event) noexcept {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + trace_events(event),
                   std::memory_order_relaxed);
  }

  // Producer-owned line (the slot pointer and mask are only read after construction). The
  // producer writes at cursor_ up to stop_ without another check: stop_ is the end of the
  // ring's memory, the end of the free space or the next due publication, whichever comes
  // first. lap_start_ is the index of slots_[0] in the current lap.
  alignas(64) Event* cursor_ = nullptr;
  Event* stop_ = nullptr;
  std::uint64_t lap_start_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  Event* slots_ = nullptr;
  std::uint64_t mask_ = 0;
  // Shared lines: written by one side each.
  alignas(64) std::atomic<std::uint64_t> published_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t consumer_tail_ = 0;
};

}  // namespace loopscope::probes
