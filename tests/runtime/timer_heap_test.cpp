#include <loopscope/detail/timer_heap.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace loopscope::detail {
namespace {

TimePoint at(long long ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

TEST(TimerHeap, PopsTimersInDeadlineOrder) {
  std::vector<TimerNode> nodes(5);
  const long long deadlines[] = {30, 10, 50, 20, 40};
  TimerHeap heap;
  for (int i = 0; i < 5; ++i) {
    nodes[i].deadline = at(deadlines[i]);
    heap.push(&nodes[i]);
  }
  std::vector<long long> order;
  while (!heap.empty()) {
    order.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                        heap.pop()->deadline.time_since_epoch())
                        .count());
  }
  EXPECT_EQ(order, (std::vector<long long>{10, 20, 30, 40, 50}));
}

TEST(TimerHeap, EqualDeadlinesFireInInsertionOrder) {
  std::vector<TimerNode> nodes(100);
  TimerHeap heap;
  for (auto& n : nodes) {
    n.deadline = at(7);
    heap.push(&n);
  }
  for (auto& n : nodes) {
    EXPECT_EQ(heap.pop(), &n);
  }
}

TEST(TimerHeap, RemovedTimerNeverPopsAndIsDisarmed) {
  std::vector<TimerNode> nodes(3);
  TimerHeap heap;
  for (int i = 0; i < 3; ++i) {
    nodes[i].deadline = at(i);
    heap.push(&nodes[i]);
  }
  heap.remove(&nodes[1]);
  EXPECT_FALSE(nodes[1].armed());
  EXPECT_EQ(heap.pop(), &nodes[0]);
  EXPECT_EQ(heap.pop(), &nodes[2]);
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, RandomPushesAndRemovalsKeepTheOrder) {
  std::mt19937 rng(42);
  std::vector<TimerNode> nodes(2000);
  TimerHeap heap;
  for (auto& n : nodes) {
    n.deadline = at(static_cast<long long>(rng() % 500));
    heap.push(&n);
  }
  std::vector<TimerNode*> kept;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (i % 3 == 0) {
      heap.remove(&nodes[i]);
    } else {
      kept.push_back(&nodes[i]);
    }
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](auto* a, auto* b) { return a->deadline < b->deadline; });
  for (TimerNode* expected : kept) {
    ASSERT_EQ(heap.pop(), expected);
  }
  EXPECT_TRUE(heap.empty());
}

}  // namespace
}  // namespace loopscope::detail
