// The loop's timers: a 4-ary min-heap ordered by (deadline, insertion sequence), so timers
// with equal deadlines fire in the order they were armed (as libuv does). Each node knows
// its heap index, so a cancelled timer is removed in O(log n) instead of lingering.
#pragma once

#include <loopscope/clock.hpp>

#include <cstdint>
#include <vector>

namespace loopscope::detail {

struct TimerNode {
  static constexpr std::uint32_t kNotArmed = UINT32_MAX;

  TimePoint deadline{};
  std::uint64_t seq = 0;
  std::uint32_t heap_index = kNotArmed;
  // Called by the loop when the deadline has passed and the node has left the heap.
  void (*fire)(TimerNode*) = nullptr;

  [[nodiscard]] bool armed() const noexcept { return heap_index != kNotArmed; }
};

class TimerHeap {
 public:
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  [[nodiscard]] TimerNode* top() const noexcept { return heap_.front().node; }

  // Arms `node`; its deadline must be set. The sequence number is assigned here.
  void push(TimerNode* node);
  // Removes and returns the earliest timer.
  TimerNode* pop();
  // Removes an armed timer from anywhere in the heap.
  void remove(TimerNode* node) noexcept;

 private:
  // The ordering key lives in the heap array itself, so sifting compares contiguous
  // entries instead of chasing a pointer into each node (with 100,000 sleeping tasks the
  // nodes are spread over megabytes of coroutine frames). Four children per node halve the
  // depth of a binary heap.
  struct Entry {
    TimePoint deadline;
    std::uint64_t seq;
    TimerNode* node;
  };
  static constexpr std::uint32_t kArity = 4;

  static bool before(const Entry& a, const Entry& b) noexcept {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.seq < b.seq);
  }
  void sift_up(std::uint32_t i, Entry entry) noexcept;
  void sift_down(std::uint32_t i, Entry entry) noexcept;
  void place(std::uint32_t i, const Entry& entry) noexcept {
    heap_[i] = entry;
    entry.node->heap_index = i;
  }

  std::vector<Entry> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace loopscope::detail
