#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

Task<std::string> fetch(std::string what, std::chrono::milliseconds delay) {
  co_await sleep(delay);
  co_return what;
}

Task<int> fail_after(std::chrono::milliseconds delay) {
  co_await sleep(delay);
  throw std::runtime_error("fetch failed");
}

Task<void> nothing(std::chrono::milliseconds delay) {
  co_await sleep(delay);
}

TEST(Gather, VariadicReturnsATupleInCallOrderNotCompletionOrder) {
  auto amain = []() -> Task<long long> {
    auto [a, b, c] = co_await gather(fetch("a", 30ms), fetch("b", 10ms), fetch("c", 20ms));
    EXPECT_EQ(a + b + c, "abc");
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 30);  // concurrent
}

TEST(Gather, VoidTasksGiveMonostateAndHandlesMixWithTasks) {
  auto amain = []() -> Task<int> {
    auto h = spawn(fetch("h", 5ms));
    auto [x, y] = co_await gather(nothing(1ms), h);
    static_assert(std::is_same_v<decltype(x), std::monostate>);
    co_return static_cast<int>(y.size());
  };
  EXPECT_EQ(run_manual(amain()), 1);
}

TEST(Gather, VectorReturnsResultsInCallOrder) {
  auto amain = []() -> Task<std::vector<std::string>> {
    std::vector<Task<std::string>> tasks;
    for (int i = 0; i < 10; ++i) {
      tasks.push_back(fetch(std::to_string(i), std::chrono::milliseconds(10 - i)));
    }
    co_return co_await gather(std::move(tasks));
  };
  const auto results = run_manual(amain());
  ASSERT_EQ(results.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i], std::to_string(i));
  }
}

TEST(Gather, EmptyVectorCompletesImmediately) {
  auto amain = []() -> Task<std::size_t> {
    co_return (co_await gather(std::vector<Task<int>>{})).size();
  };
  EXPECT_EQ(run_manual(amain()), 0u);
}

TEST(Gather, FirstFailurePropagatesAndCancelsTheRest) {
  auto amain = []() -> Task<long long> {
    auto slow = spawn(fetch("slow", 1h));
    try {
      co_await gather(fetch("ok", 5ms), fail_after(10ms), slow);
      ADD_FAILURE() << "gather should have thrown";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "fetch failed");
    }
    EXPECT_TRUE(slow.cancelled());
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 10);  // not an hour: the slow one was cancelled
}

TEST(Gather, CancellingTheGathererCancelsEveryChild) {
  auto gatherer = [](std::vector<TaskHandle<std::string>> hs) -> Task<void> {
    co_await gather(std::move(hs));
  };
  auto amain = [](decltype(gatherer) g) -> Task<void> {
    std::vector<TaskHandle<std::string>> hs;
    for (int i = 0; i < 3; ++i) {
      hs.push_back(spawn(fetch("x", 1h)));
    }
    auto outer = spawn(g(hs));
    co_await sleep(1ms);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    for (auto& h : hs) {
      EXPECT_TRUE(h.cancelled());
    }
  };
  run_manual(amain(gatherer));
}

TEST(Gather, ACancelledChildMakesGatherRaiseCancelledError) {
  auto amain = []() -> Task<bool> {
    auto victim = spawn(fetch("v", 1h));
    current_loop().call_later(1ms, [victim] { victim.cancel(); });
    try {
      co_await gather(fetch("a", 5ms), victim);
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_manual(amain()));
}

TEST(GatherSettled, ReturnsValuesAndExceptionsWithoutThrowing) {
  auto amain = []() -> Task<void> {
    auto [ok, bad] = co_await gather_settled(fetch("fine", 1ms), fail_after(2ms));
    EXPECT_TRUE(ok.has_value());
    EXPECT_EQ(ok.value(), "fine");
    EXPECT_TRUE(bad.has_exception());
    EXPECT_FALSE(bad.cancelled());
    EXPECT_THROW((void)bad.value(), std::runtime_error);

    std::vector<Task<int>> tasks;
    tasks.push_back(fail_after(1ms));
    tasks.push_back(fail_after(2ms));
    auto outcomes = co_await gather_settled(std::move(tasks));
    EXPECT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].has_exception() && outcomes[1].has_exception());
  };
  testing::WarningRecorder warnings;
  run_manual(amain());
  EXPECT_TRUE(warnings.all().empty());
}

}  // namespace
}  // namespace loopscope
