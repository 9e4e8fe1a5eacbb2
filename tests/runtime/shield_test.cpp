#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

Task<int> save(std::chrono::milliseconds d) {
  co_await sleep(d);
  co_return 1;
}

TEST(Shield, OuterCancellationDoesNotCancelTheShieldedTask) {
  auto owner = [](TaskHandle<int> inner) -> Task<int> { co_return co_await shield(inner); };
  auto amain = [](decltype(owner) o) -> Task<long long> {
    auto inner = spawn(save(20ms));
    auto outer = spawn(o(inner));
    co_await sleep(5ms);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_EQ(now_ms(), 5);  // the owner stopped waiting at once
    EXPECT_FALSE(inner.done());
    EXPECT_EQ(co_await inner, 1);  // and the work still completed
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain(owner)), 20);
}

TEST(Shield, ReturnsTheValueWhenNotCancelled) {
  auto amain = []() -> Task<int> { co_return co_await shield(save(3ms)); };
  EXPECT_EQ(run_manual(amain()), 1);
}

TEST(Shield, ShieldingWithATimeoutLeavesTheWorkRunning) {
  auto amain = []() -> Task<int> {
    auto work = spawn(save(50ms));
    EXPECT_THROW(co_await timeout(10ms, shield(work)), TimeoutError);
    co_return co_await work;
  };
  EXPECT_EQ(run_manual(amain()), 1);
}

}  // namespace
}  // namespace loopscope
