#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

Task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}
Task<int> fail_after(std::chrono::milliseconds d) {
  co_await sleep(d);
  throw std::runtime_error("failed");
}

std::vector<TaskHandle<int>> spawn_three() {
  std::vector<TaskHandle<int>> hs;
  hs.push_back(spawn(after(30ms, 30)));
  hs.push_back(spawn(after(10ms, 10)));
  hs.push_back(spawn(after(20ms, 20)));
  return hs;
}

TEST(Wait, FirstCompletedReturnsAsSoonAsOneIsDone) {
  auto amain = []() -> Task<long long> {
    auto [done, pending] = co_await wait(spawn_three(), WaitFor::FirstCompleted);
    EXPECT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].result(), 10);
    EXPECT_EQ(pending.size(), 2u);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 10);
}

TEST(Wait, AllCompletedWaitsForEveryTask) {
  auto amain = []() -> Task<long long> {
    auto [done, pending] = co_await wait(spawn_three());
    EXPECT_EQ(done.size(), 3u);
    EXPECT_TRUE(pending.empty());
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 30);
}

TEST(Wait, FirstExceptionStopsAtTheFirstFailureAndCancelsNothing) {
  auto amain = []() -> Task<long long> {
    auto hs = spawn_three();
    hs.push_back(spawn(fail_after(15ms)));
    auto [done, pending] = co_await wait(hs, WaitFor::FirstException);
    EXPECT_EQ(done.size(), 2u);  // the 10 ms one and the failed one
    EXPECT_EQ(pending.size(), 2u);
    for (auto& h : pending) {
      EXPECT_FALSE(h.cancelled());
    }
    EXPECT_NE(hs[3].exception(), nullptr);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 15);
}

TEST(AsCompleted, YieldsHandlesInCompletionOrder) {
  auto amain = []() -> Task<std::vector<int>> {
    std::vector<int> order;
    auto it = as_completed(spawn_three());
    while (auto h = co_await it.next()) {
      order.push_back(h->result());
    }
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{10, 20, 30}));
}

}  // namespace
}  // namespace loopscope
