// EventRing: the single-producer, single-consumer buffer between a loop thread and the
// collector.
//
// The producer (the loop thread) appends whole events (an Event and its EventExt records)
// without a lock, an allocation or a system call: one compare against a precomputed limit,
// the copy, and the new head in a plain variable. Appended events become visible to the
// consumer when the producer publishes them (a release store of the head): the loop does so
// at each clock read, so that the consumer sees whole runs of untimed events closed by a
// timed one, and the ring does so by itself every kPublishEvery words and whenever it looks
// full. A full ring drops the event and counts it (as the events of a trace it stands for);
// the producer never waits. The consumer reads what was published and releases the space
// with a release store of the tail.
//
// The ring is an array of 8-byte words, a power of two of them, mapped once when the ring is
// created. An event takes its header word (pack_header()), then a second word unless it has
// none (ring_words() in event.hpp: an untimed event that is not folded, such as most steps),
// then two words per EventExt record. Half the bytes of 16-byte slots for a step: the ring's
// stores go to memory no cache holds, and that traffic is most of what tracing costs a
// busy loop (docs/BENCHMARKS.md).
//
// A ring made with unchecked room (the recorders' rings) also takes appends without the
// compare, up to unchecked_words() of them in a row: a loop writes the ends of a window of
// short steps so (loop_trace.cpp). Checked appends then keep that many words free behind
// them, and the ring's memory is that much longer than a lap, so that a run of unchecked
// words may go past the lap's end; the words there are moved to the start of the memory
// before they are published.
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
  // `words` is rounded up to a power of two (at least 128). `unchecked` is the longest run of
  // unchecked appends the ring must take (at most a quarter of its capacity: it is clamped).
  explicit EventRing(std::size_t words, std::size_t unchecked = 0);
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;
  EventRing(EventRing&&) = delete;
  EventRing& operator=(EventRing&&) = delete;
  ~EventRing();

  // In words.
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  // ---- producer side (one thread) ----

  // Appends `event` (its time as the second word, if it has one: has_second_word()) followed
  // by `ext` (the count bits of event.ext must equal ext.size()) without publishing it.
  // Returns false and counts a drop if the ring has no room.
  bool append(const Event& event, std::span<const EventExt> ext = {}) noexcept {
    const std::uint64_t header = pack_header(event.task, event.arg, event.kind, event.ext);
    if (!has_second_word(event.ext)) {
      return append_header(header, ext);
    }
    return append_words(header, event.time, ext);
  }
  // An event of two words, `header` then `second` (its time or first extension word),
  // followed by `ext`.
  bool append_words(std::uint64_t header, std::uint64_t second,
                    std::span<const EventExt> ext = {}) noexcept {
    const std::size_t n = 2 + 2 * ext.size();
    if (cursor_ + n > stop_) [[unlikely]] {
      return append_slow(header, second, true, ext);
    }
    // Through a local pointer: a store through cursor_ itself could alias cursor_, which
    // the compiler would then reload after each store.
    std::uint64_t* const at = cursor_;
    prefetch();
    at[0] = header;
    at[1] = second;
    if (!ext.empty()) {
      std::memcpy(at + 2, ext.data(), ext.size_bytes());
    }
    cursor_ = at + n;
    return true;
  }
  // An event of its header word alone (has_second_word() is false for it), followed by `ext`.
  bool append_header(std::uint64_t header, std::span<const EventExt> ext = {}) noexcept {
    const std::size_t n = 1 + 2 * ext.size();
    if (cursor_ + n > stop_) [[unlikely]] {
      return append_slow(header, 0, false, ext);
    }
    std::uint64_t* const at = cursor_;
    prefetch();
    at[0] = header;
    if (!ext.empty()) {
      std::memcpy(at + 1, ext.data(), ext.size_bytes());
    }
    cursor_ = at + n;
    return true;
  }
  // Whether the ring takes unchecked_words() words through the unchecked appends below, in
  // any mix with checked appends, from now on. Conservative: false near a lap's end or a
  // full ring, and after unchecked words until the next checked append that takes the slow
  // path.
  [[nodiscard]] bool takes_unchecked() const noexcept { return cursor_ < stop_; }
  [[nodiscard]] std::size_t unchecked_words() const noexcept { return unchecked_; }
  // Asks for the lines of the `words` words that follow the next ones, as far ahead as each
  // checked append does for its own (prefetch()), for a run of up to `words` unchecked words
  // about to be appended: one prefetch a line for the run instead of one a word. Runs that
  // start no later than where the one before could end, with checked appends between them,
  // so have every line asked for at least kPrefetchAhead words before it is written.
  void prefetch_run(std::size_t words) const noexcept {
    for (std::size_t at = 0; at < words; at += kWordsPerLine) {
      __builtin_prefetch(cursor_ + kPrefetchAhead + at, 1, 3);
    }
  }
  // An event of its header word alone, or of two words, with no room check: only while
  // takes_unchecked() said so for the run of words it belongs to. They do not prefetch: a
  // run of them is prefetched once, by prefetch_run().
  void append_header_unchecked(std::uint64_t header) noexcept {
    std::uint64_t* const at = cursor_;
    at[0] = header;
    cursor_ = at + 1;
  }
  void append_words_unchecked(std::uint64_t header, std::uint64_t second) noexcept {
    std::uint64_t* const at = cursor_;
    at[0] = header;
    at[1] = second;
    cursor_ = at + 2;
  }
  // Makes everything appended so far visible to the consumer.
  void publish() noexcept {
    if (cursor_ > words_ + capacity()) [[unlikely]] {
      move_overrun();
    }
    published_.store(head(), std::memory_order_release);
  }
  // append() and publish().
  bool write(const Event& event, std::span<const EventExt> ext = {}) noexcept {
    const bool written = append(event, ext);
    publish();
    return written;
  }

  // ---- consumer side (one thread) ----

  // Words published and not yet consumed, as up to two contiguous spans (the ring wraps).
  // They hold whole events: the producer never publishes part of one.
  struct Readable {
    std::span<const std::uint64_t> first;
    std::span<const std::uint64_t> second;
    [[nodiscard]] std::size_t size() const noexcept { return first.size() + second.size(); }
    [[nodiscard]] std::uint64_t operator[](std::size_t i) const noexcept {
      return i < first.size() ? first[i] : second[i - first.size()];
    }
  };
  [[nodiscard]] Readable readable() const noexcept;
  // Releases `n` words read through readable().
  void consume(std::size_t n) noexcept;
  // Events dropped so far because the ring was full, counted as the events of a trace they
  // stand for (a compact step is two).
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  // Words are written to memory that has not been touched for a lap of the ring (32 MiB by
  // default), far out of the cache: asking for the line a kilobyte ahead for writing hides
  // that miss, which otherwise costs a 6 ns step about 2 ns (measured on the loop's yield).
  static constexpr std::size_t kPrefetchAhead = 128;
  static constexpr std::size_t kWordsPerLine = 64 / sizeof(std::uint64_t);
  void prefetch() const noexcept {
    // Past the end of the mapping it is a no-op: prefetches do not fault.
    __builtin_prefetch(cursor_ + kPrefetchAhead, 1, 3);
  }

  // The producer publishes by itself at least this often (in words), so that the consumer
  // can drain a long run of events written without a clock read (a step spawning thousands
  // of tasks).
  static constexpr std::uint64_t kPublishEvery = 8192;

  // The index of the next word to write.
  [[nodiscard]] std::uint64_t head() const noexcept {
    return lap_start_ + static_cast<std::uint64_t>(cursor_ - words_);
  }
  // The path for everything but a plain append with room: the ring's end, a publication
  // that is due, a full ring (publishes, re-reads the consumer's tail, moves stop_).
  bool append_slow(std::uint64_t header, std::uint64_t second, bool has_second,
                   std::span<const EventExt> ext) noexcept;
  // Unchecked words went past the end of the lap: moves them to the start of the memory,
  // where the next lap begins, and sends the next checked append to the slow path.
  void move_overrun() noexcept;
  void count_drop(std::uint64_t header) noexcept {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + trace_events(unpack_header(header)),
                   std::memory_order_relaxed);
  }

  // Producer-owned line (the word pointer and mask are only read after construction). The
  // producer writes at cursor_ up to stop_ without another check: stop_ is the end of the
  // lap, the end of the free space less the unchecked room, or the next due publication,
  // whichever comes first. lap_start_ is the index of words_[0] in the current lap.
  alignas(64) std::uint64_t* cursor_ = nullptr;
  std::uint64_t* stop_ = nullptr;
  std::uint64_t lap_start_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t* words_ = nullptr;
  std::uint64_t mask_ = 0;
  std::size_t unchecked_ = 0;
  // Shared lines: written by one side each.
  alignas(64) std::atomic<std::uint64_t> published_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t consumer_tail_ = 0;
};

}  // namespace loopscope::probes
