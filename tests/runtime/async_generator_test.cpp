#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::LifetimeCounter;
using testing::now_ms;
using testing::run_manual;

AsyncGenerator<int> ticks(int n) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(10ms);
    co_yield i;
  }
}

AsyncGenerator<int> with_cleanup(int* cleaned) {
  struct Cleanup {
    explicit Cleanup(int* c) : counter(c) {}
    int* counter;
    Cleanup(const Cleanup&) = delete;
    Cleanup& operator=(const Cleanup&) = delete;
    Cleanup(Cleanup&&) = delete;
    Cleanup& operator=(Cleanup&&) = delete;
    ~Cleanup() { ++*counter; }
  } cleanup(cleaned);
  for (int i = 0;; ++i) {
    co_await sleep(1ms);
    co_yield i;
  }
}

TEST(AsyncGenerator, YieldsValuesWithAwaitsInBetween) {
  auto amain = []() -> Task<std::vector<int>> {
    std::vector<int> got;
    auto gen = ticks(3);
    while (auto v = co_await gen.next()) {
      got.push_back(*v);
    }
    EXPECT_EQ(now_ms(), 30);
    EXPECT_TRUE(gen.finished());
    EXPECT_FALSE(co_await gen.next());  // stays exhausted
    co_return got;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{0, 1, 2}));
}

TEST(AsyncGenerator, ExceptionsPropagateToTheConsumer) {
  auto gen_fn = []() -> AsyncGenerator<int> {
    co_yield 1;
    throw std::runtime_error("stream broke");
  };
  auto amain = [](decltype(gen_fn) g) -> Task<int> {
    auto gen = g();
    int got = 0;
    try {
      while (auto v = co_await gen.next()) {
        got += *v;
      }
    } catch (const std::runtime_error&) {
      got += 100;
    }
    co_return got;
  };
  EXPECT_EQ(run_manual(amain(gen_fn)), 101);
}

TEST(AsyncGenerator, EarlyExitRunsTheCleanups) {
  auto amain = []() -> Task<int> {
    int cleaned = 0;
    {
      auto gen = with_cleanup(&cleaned);
      co_await gen.next();
      co_await gen.next();
    }  // abandoned while suspended at a co_yield
    co_return cleaned;
  };
  EXPECT_EQ(run_manual(amain()), 1);
}

TEST(AsyncGenerator, AcloseRunsTheCleanupsAndEndsTheStream) {
  auto amain = []() -> Task<int> {
    int cleaned = 0;
    auto gen = with_cleanup(&cleaned);
    co_await gen.next();
    co_await gen.aclose();
    EXPECT_EQ(cleaned, 1);
    EXPECT_FALSE(co_await gen.next());
    co_return cleaned;
  };
  EXPECT_EQ(run_manual(amain()), 1);
}

TEST(AsyncGenerator, CancellationOfTheConsumerEndsTheGeneratorWithItsCleanups) {
  auto consumer = [](int* cleaned) -> Task<void> {
    auto gen = with_cleanup(cleaned);
    while (auto v = co_await gen.next()) {
    }
  };
  auto amain = [](decltype(consumer) c) -> Task<int> {
    int cleaned = 0;
    auto h = spawn(c(&cleaned));
    co_await sleep(5ms);  // 0.5 ms into a 1 ms sleep inside the generator... on the grid
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
    co_return cleaned;
  };
  EXPECT_EQ(run_manual(amain(consumer)), 1);
}

TEST(AsyncGenerator, ATimeoutAroundNextClosesTheStream) {
  // The classic asyncio trap: a timeout around __anext__ finalizes the generator.
  testing::WarningRecorder warnings{WarningKind::kGeneratorClosedByCancellation};  // in debug mode
  auto slow = []() -> AsyncGenerator<int> {
    co_yield 1;
    co_await sleep(1h);
    co_yield 2;
  };
  auto amain = [](decltype(slow) s) -> Task<bool> {
    auto gen = s();
    co_await gen.next();
    try {
      co_await timeout(10ms, gen.next());
    } catch (const TimeoutError&) {
    }
    co_return gen.finished();
  };
  EXPECT_TRUE(run_manual(amain(slow)));
}

TEST(AsyncGenerator, LocalsDieWithTheFrame) {
  auto gen_fn = []() -> AsyncGenerator<int> {
    LifetimeCounter c;
    co_yield 1;
    co_yield 2;
  };
  auto amain = [](decltype(gen_fn) g) -> Task<void> {
    auto gen = g();
    co_await gen.next();
    EXPECT_EQ(LifetimeCounter::alive, 1);
  };
  run_manual(amain(gen_fn));
  EXPECT_EQ(LifetimeCounter::alive, 0);
}

}  // namespace
}  // namespace loopscope
