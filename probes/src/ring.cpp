#include <loopscope/probes/ring.hpp>

#include <bit>
#include <cstring>
#include <new>
#include <sys/mman.h>

namespace loopscope::probes {

EventRing::EventRing(std::size_t slots) {
  const std::size_t n = std::bit_ceil(slots < 64 ? std::size_t{64} : slots);
  // Populated up front: the first lap around the ring must not page-fault on the loop thread.
  void* memory = mmap(nullptr, n * sizeof(Event), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (memory == MAP_FAILED) {
    throw std::bad_alloc();
  }
  slots_ = static_cast<Event*>(memory);
  mask_ = n - 1;
}

EventRing::~EventRing() {
  munmap(slots_, capacity() * sizeof(Event));
}

Event EventRing::as_slot(const EventExt& x) noexcept {
  Event e{};
  std::memcpy(&e, &x, sizeof(e));
  return e;
}

EventRing::Readable EventRing::readable() const noexcept {
  const std::uint64_t head = published_.load(std::memory_order_acquire);
  const std::uint64_t count = head - consumer_tail_;
  const std::uint64_t start = consumer_tail_ & mask_;
  const std::uint64_t to_end = capacity() - start;
  Readable r;
  if (count <= to_end) {
    r.first = {slots_ + start, count};
  } else {
    r.first = {slots_ + start, to_end};
    r.second = {slots_, count - to_end};
  }
  return r;
}

void EventRing::consume(std::size_t n) noexcept {
  consumer_tail_ += n;
  tail_.store(consumer_tail_, std::memory_order_release);
}

}  // namespace loopscope::probes
