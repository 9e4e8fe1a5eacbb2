#include <loopscope/detail/timer_heap.hpp>

namespace loopscope::detail {

void TimerHeap::push(TimerNode* node) {
  node->seq = next_seq_++;
  heap_.push_back(Entry{node->deadline, node->seq, node});
  sift_up(static_cast<std::uint32_t>(heap_.size() - 1), heap_.back());
}

TimerNode* TimerHeap::pop() {
  TimerNode* top_node = heap_.front().node;
  remove(top_node);
  return top_node;
}

void TimerHeap::remove(TimerNode* node) noexcept {
  const std::uint32_t i = node->heap_index;
  const Entry last = heap_.back();
  heap_.pop_back();
  node->heap_index = TimerNode::kNotArmed;
  if (last.node == node) {
    return;
  }
  // The moved entry may belong above or below the freed slot.
  if (i > 0 && before(last, heap_[(i - 1) / kArity])) {
    sift_up(i, last);
  } else {
    sift_down(i, last);
  }
}

void TimerHeap::sift_up(std::uint32_t i, Entry entry) noexcept {
  while (i > 0) {
    const std::uint32_t parent = (i - 1) / kArity;
    if (!before(entry, heap_[parent])) {
      break;
    }
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, entry);
}

void TimerHeap::sift_down(std::uint32_t i, Entry entry) noexcept {
  const auto n = static_cast<std::uint32_t>(heap_.size());
  while (true) {
    const std::uint32_t first = kArity * i + 1;
    if (first >= n) {
      break;
    }
    const std::uint32_t last = first + kArity < n ? first + kArity : n;
    std::uint32_t best = first;
    for (std::uint32_t c = first + 1; c < last; ++c) {
      if (before(heap_[c], heap_[best])) {
        best = c;
      }
    }
    if (!before(heap_[best], entry)) {
      break;
    }
    place(i, heap_[best]);
    i = best;
  }
  place(i, entry);
}

}  // namespace loopscope::detail
