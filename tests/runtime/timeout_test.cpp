#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <string>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

Task<std::string> fetch(std::chrono::milliseconds delay, bool* cancelled = nullptr) {
  try {
    co_await sleep(delay);
  } catch (const CancelledError&) {
    if (cancelled != nullptr) {
      *cancelled = true;
    }
    throw;
  }
  co_return "page";
}

TEST(Timeout, ReturnsTheValueWhenTheWorkIsFastEnough) {
  auto amain = []() -> Task<std::string> { co_return co_await timeout(50ms, fetch(10ms)); };
  EXPECT_EQ(run_manual(amain()), "page");
}

TEST(Timeout, ThrowsTimeoutErrorAndCancelsTheInnerWork) {
  auto amain = []() -> Task<long long> {
    bool inner_cancelled = false;
    EXPECT_THROW(co_await timeout(50ms, fetch(1h, &inner_cancelled)), TimeoutError);
    EXPECT_TRUE(inner_cancelled);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 50);
}

TEST(Timeout, CancelsASpawnedTaskAwaitedThroughItsHandle) {
  auto amain = []() -> Task<void> {
    auto h = spawn(fetch(1h));
    EXPECT_THROW(co_await timeout(10ms, h), TimeoutError);
    EXPECT_TRUE(h.cancelled());
  };
  run_manual(amain());
}

TEST(Timeout, TheTaskCanAwaitNormallyAfterATimeout) {
  auto amain = []() -> Task<long long> {
    try {
      co_await timeout(10ms, fetch(1h));
    } catch (const TimeoutError&) {
    }
    co_await sleep(5ms);  // no leftover cancellation
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 15);
}

TEST(Timeout, AnOuterCancellationStaysACancellation) {
  auto worker = []() -> Task<void> { co_await timeout(1h, fetch(1h)); };
  auto amain = [](decltype(worker) w) -> Task<bool> {
    auto h = spawn(w());
    co_await sleep(1ms);
    h.cancel();
    try {
      co_await h;
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_manual(amain(worker)));
}

TEST(Timeout, WorksOnAnyAwaitable) {
  auto amain = []() -> Task<bool> {
    Event never;
    try {
      co_await timeout(5ms, never.wait());
    } catch (const TimeoutError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_manual(amain()));
}

TEST(Timeout, NestedTimeoutsReportTheOneThatExpired) {
  auto amain = []() -> Task<std::string> {
    try {
      co_await timeout(100ms, timeout(10ms, fetch(1h)));
    } catch (const TimeoutError&) {
      co_return now_ms() == 10 ? "inner" : "wrong time";
    }
    co_return "none";
  };
  EXPECT_EQ(run_manual(amain()), "inner");
}

}  // namespace
}  // namespace loopscope
