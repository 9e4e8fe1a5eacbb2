#include <loopscope/probes/ring.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <unistd.h>

namespace loopscope::probes {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

// `bytes` of fresh memory starting on a huge-page boundary when they are a huge page or more:
// a mapping placed anywhere has its first and last partial huge pages on 4 KiB pages, and the
// start of the ring is where a short program writes all it records.
void* map_aligned(std::size_t bytes) {
  const std::size_t slack = bytes >= kHugePage ? kHugePage : 0;
  void* memory =
      mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw std::bad_alloc();
  }
  if (slack == 0) {
    return memory;
  }
  // Unmaps what lies before the boundary and after the pages the ring uses (munmap, like the
  // destructor's, works in whole pages: `bytes` rounded up).
  auto* const start = static_cast<char*>(memory);
  const auto misalignment = reinterpret_cast<std::uintptr_t>(start) & (kHugePage - 1);
  const std::size_t head = misalignment == 0 ? 0 : kHugePage - misalignment;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t used = (bytes + page - 1) / page * page;
  if (head != 0) {
    munmap(start, head);
  }
  if (slack != head) {  // the mapping is `used` + `slack` bytes long
    munmap(start + head + used, slack - head);
  }
  return start + head;
}

}  // namespace

EventRing::EventRing(std::size_t words, std::size_t unchecked) {
  const std::size_t n = std::bit_ceil(words < 128 ? std::size_t{128} : words);
  unchecked_ = std::min(unchecked, n / 4);
  // A run of unchecked words may go past the lap's end by up to its length.
  const std::size_t bytes = (n + unchecked_) * sizeof(std::uint64_t);
  void* memory = map_aligned(bytes);
  // Huge pages where the kernel gives them: a lap of the default ring then needs 16 TLB
  // entries instead of 8,192, and a traced yield-heavy loop (W2) pays a fifth less for
  // tracing (measured: 1.45x -> 1.19x of the untraced time). Advice only; 4 KiB pages work.
  (void)madvise(memory, bytes, MADV_HUGEPAGE);
  // Populated up front: the first lap around the ring must not page-fault on the loop thread.
  if (madvise(memory, bytes, MADV_POPULATE_WRITE) != 0) {  // before Linux 5.14: by hand
    for (std::size_t offset = 0; offset < bytes; offset += 4096) {
      static_cast<volatile char*>(memory)[offset] = 0;
    }
  }
  words_ = static_cast<std::uint64_t*>(memory);
  mask_ = n - 1;
  cursor_ = words_;
  stop_ = words_;  // the first append takes the slow path, which sets the real stop
}

EventRing::~EventRing() {
  munmap(words_, (capacity() + unchecked_) * sizeof(std::uint64_t));
}

void EventRing::move_overrun() noexcept {
  // The words past the end are the first of the next lap, whose room the checked append
  // before them left (the consumer has released what they overwrite).
  std::uint64_t* const end = words_ + capacity();
  const auto over = static_cast<std::size_t>(cursor_ - end);
  std::memcpy(words_, end, over * sizeof(std::uint64_t));
  lap_start_ += capacity();
  cursor_ = words_ + over;
  stop_ = cursor_;
}

bool EventRing::append_slow(std::uint64_t header, std::uint64_t second, bool has_second,
                            std::span<const EventExt> ext) noexcept {
  // Publish first: the consumer can only free what it can see.
  publish();
  std::uint64_t head = this->head();
  // Leaves the unchecked room free behind the event.
  const std::uint64_t room_end = tail_.load(std::memory_order_acquire) + capacity() - unchecked_;
  const std::uint64_t n = 1 + (has_second ? 1 : 0) + 2 * ext.size();
  const bool fits = head + n <= room_end;
  if (fits) {
    // Word by word: the event may straddle the end of the ring's memory.
    words_[head++ & mask_] = header;
    if (has_second) {
      words_[head++ & mask_] = second;
    }
    for (const EventExt& x : ext) {
      words_[head++ & mask_] = x.a;
      words_[head++ & mask_] = x.b;
    }
  } else {
    count_drop(header);
  }
  // Move the cursor into the lap `head` is in, and stop at the first of: the end of the
  // lap, the end of the free space (less the unchecked room), the next publication.
  lap_start_ = head & ~mask_;
  cursor_ = words_ + (head & mask_);
  const std::uint64_t stop = std::min({lap_start_ + capacity(), room_end, head + kPublishEvery});
  stop_ = words_ + (std::max(stop, head) - lap_start_);
  return fits;
}

EventRing::Readable EventRing::readable() const noexcept {
  const std::uint64_t head = published_.load(std::memory_order_acquire);
  const std::uint64_t count = head - consumer_tail_;
  const std::uint64_t start = consumer_tail_ & mask_;
  const std::uint64_t to_end = capacity() - start;
  Readable r;
  if (count <= to_end) {
    r.first = {words_ + start, count};
  } else {
    r.first = {words_ + start, to_end};
    r.second = {words_, count - to_end};
  }
  return r;
}

void EventRing::consume(std::size_t n) noexcept {
  consumer_tail_ += n;
  tail_.store(consumer_tail_, std::memory_order_release);
}

}  // namespace loopscope::probes
