#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

TEST(Sleep, ResumesAtTheDeadlineOfTheManualClock) {
  auto amain = []() -> Task<long long> {
    co_await sleep(250ms);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 250);
}

TEST(Sleep, ZeroYieldsToTheOtherReadyTasksInFifoOrder) {
  auto worker = [](std::string* log, char name) -> Task<void> {
    for (int i = 0; i < 3; ++i) {
      *log += name;
      co_await sleep(0s);
    }
  };
  auto amain = [](decltype(worker) w) -> Task<std::string> {
    std::string log;
    auto a = spawn(w(&log, 'a'));
    auto b = spawn(w(&log, 'b'));
    co_await a;
    co_await b;
    co_return log;
  };
  EXPECT_EQ(run_manual(amain(worker)), "ababab");
}

TEST(Sleep, YieldDoesNotAdvanceTheClock) {
  auto amain = []() -> Task<long long> {
    for (int i = 0; i < 100; ++i) {
      co_await sleep(0ms);
    }
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 0);
}

TEST(Sleep, SleepersWakeInDeadlineOrder) {
  auto sleeper = [](std::vector<int>* order, int ms) -> Task<void> {
    co_await sleep(std::chrono::milliseconds(ms));
    order->push_back(ms);
  };
  auto amain = [](decltype(sleeper) s) -> Task<std::vector<int>> {
    std::vector<int> order;
    std::vector<TaskHandle<void>> hs;
    for (int ms : {30, 10, 20, 0, 5}) {
      hs.push_back(spawn(s(&order, ms)));
    }
    for (auto& h : hs) {
      co_await h;
    }
    co_return order;
  };
  EXPECT_EQ(run_manual(amain(sleeper)), (std::vector<int>{0, 5, 10, 20, 30}));
}

TEST(Sleep, CancelledWhileQueuedAfterAYieldRaisesOnResume) {
  auto child = []() -> Task<void> {
    for (;;) {
      co_await sleep(0ms);
    }
  };
  auto amain = [](decltype(child) c) -> Task<bool> {
    auto h = spawn(c());
    co_await sleep(0ms);
    h.cancel();
    try {
      co_await h;
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_manual(amain(child)));
}

}  // namespace
}  // namespace loopscope
