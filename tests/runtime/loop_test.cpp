#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;
using testing::WarningRecorder;

TEST(Loop, CurrentLoopOutsideRunIsAClearError) {
  EXPECT_THROW(current_loop(), Error);
}

TEST(Loop, CallSoonRunsCallbacksInFifoOrderOnTheNextIteration) {
  auto amain = []() -> Task<std::vector<int>> {
    std::vector<int> order;
    auto& loop = current_loop();
    for (int i = 0; i < 5; ++i) {
      loop.call_soon([&order, i] { order.push_back(i); });
    }
    EXPECT_TRUE(order.empty());  // nothing runs before the task yields
    co_await sleep(0ms);
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Loop, CallLaterFiresAtItsDeadlineOnTheManualClock) {
  auto amain = []() -> Task<std::vector<long long>> {
    std::vector<long long> fired;
    auto& loop = current_loop();
    loop.call_later(30ms, [&fired] { fired.push_back(now_ms()); });
    loop.call_later(10ms, [&fired] { fired.push_back(now_ms()); });
    loop.call_later(20ms, [&fired] { fired.push_back(now_ms()); });
    co_await sleep(50ms);
    co_return fired;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<long long>{10, 20, 30}));
}

TEST(Loop, EqualDeadlinesRunInSchedulingOrder) {
  auto amain = []() -> Task<std::string> {
    std::string order;
    auto& loop = current_loop();
    for (char c : std::string("abcdef")) {
      loop.call_later(5ms, [&order, c] { order += c; });
    }
    co_await sleep(6ms);
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), "abcdef");
}

TEST(Loop, CancelledCallbackNeverRuns) {
  auto amain = []() -> Task<int> {
    int runs = 0;
    auto& loop = current_loop();
    auto soon = loop.call_soon([&runs] { ++runs; });
    auto later = loop.call_later(5ms, [&runs] { ++runs; });
    soon.cancel();
    later.cancel();
    EXPECT_TRUE(soon.cancelled());
    co_await sleep(10ms);
    co_return runs;
  };
  EXPECT_EQ(run_manual(amain()), 0);
}

TEST(Loop, ExceptionInACallbackIsReportedAndTheLoopGoesOn) {
  auto amain = []() -> Task<int> {
    int after = 0;
    current_loop().call_soon([] { throw std::runtime_error("bad callback"); });
    current_loop().call_soon([&after] { after = 1; });
    co_await sleep(1ms);
    co_return after;
  };
  EXPECT_EQ(run_manual(amain()), 1);
}

TEST(Loop, CallSoonThreadsafeWakesASleepingLoop) {
  // The loop blocks in epoll with no timer; only the other thread's post can wake it.
  auto amain = []() -> Task<int> {
    auto& loop = current_loop();
    std::promise<void> posted;
    auto done = std::make_shared<Event>();
    std::thread poster([&loop, done] { loop.call_soon_threadsafe([done] { done->set(); }); });
    co_await done->wait();
    poster.join();
    co_return 1;
  };
  EXPECT_EQ(run(amain()), 1);
}

TEST(Loop, RunCoroutineThreadsafeReturnsAFuture) {
  auto work = [](int x) -> Task<int> {
    co_await sleep(1ms);
    co_return x * 2;
  };
  auto amain = [](decltype(work) w) -> Task<int> {
    auto& loop = current_loop();
    std::atomic<int> got{0};
    auto done = std::make_shared<Event>();
    std::thread client([&loop, &got, done, w] {
      std::future<int> f = run_coroutine_threadsafe(w(21), loop);
      got = f.get();  // blocks this thread, not the loop
      loop.call_soon_threadsafe([done] { done->set(); });
    });
    co_await done->wait();
    client.join();
    co_return got.load();
  };
  EXPECT_EQ(run(amain(work)), 42);
}

TEST(Loop, LoopMethodsFromAnotherThreadAreRefused) {
  WarningRecorder warnings;
  auto amain = []() -> Task<std::string> {
    auto& loop = current_loop();
    std::string message;
    std::thread other([&loop, &message] {
      try {
        loop.call_soon([] {});
      } catch (const Error& e) {
        message = e.what();
      }
    });
    other.join();
    co_return message;
  };
  EXPECT_NE(run(amain()).find("not the loop's"), std::string::npos);
  EXPECT_EQ(warnings.count(WarningKind::kThreadSafety), 1);
}

TEST(Loop, DeadlockOnAManualClockIsReportedNotHung) {
  auto amain = []() -> Task<void> {
    Event never;
    co_await never.wait();
  };
  try {
    run_manual(amain());
    FAIL() << "expected a deadlock error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("deadlock"), std::string::npos);
  }
}

TEST(Loop, ManualClockCanBeAdvancedByATask) {
  auto amain = []() -> Task<long long> {
    auto& clock = static_cast<ManualClock&>(*current_loop().options().clock);
    clock.advance(5s);
    co_await sleep(1ms);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 5001);
}

}  // namespace
}  // namespace loopscope
