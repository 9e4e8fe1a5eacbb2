#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <pthread.h>
#include <stdexcept>
#include <string>

namespace loopscope {
namespace {

using testing::LifetimeCounter;
using testing::run_manual;
using testing::WarningRecorder;

Task<int> value(int v) {
  co_return v;
}
Task<int> add(int a, int b) {
  co_return co_await value(a) + co_await value(b);
}
Task<void> fail(std::string message) {
  throw std::runtime_error(message);
  co_return;
}

TEST(Task, IsLazyUntilAwaited) {
  auto body = [](bool* ran) -> Task<void> {
    *ran = true;
    co_return;
  };
  auto amain = [](decltype(body) make) -> Task<bool> {
    bool ran = false;
    Task<void> t = make(&ran);
    const bool before = ran;
    co_await std::move(t);
    co_return !before && ran;
  };
  EXPECT_TRUE(run_manual(amain(body)));
}

TEST(Task, AwaitReturnsTheValue) {
  EXPECT_EQ(run_manual(add(2, 3)), 5);
}

TEST(Task, ExceptionPropagatesToTheAwaiter) {
  auto amain = []() -> Task<std::string> {
    try {
      co_await fail("boom");
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(run_manual(amain()), "boom");
}

TEST(Task, MoveOnlyResultIsMovedOut) {
  auto make = []() -> Task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); };
  auto amain = [](decltype(make) m) -> Task<int> {
    std::unique_ptr<int> p = co_await m();
    co_return *p;
  };
  EXPECT_EQ(run_manual(amain(make)), 7);
}

TEST(Task, AwaitingTheSameTaskTwiceIsAClearError) {
  auto amain = []() -> Task<std::string> {
    Task<int> t = value(1);
    co_await t;
    try {
      co_await t;
    } catch (const Error& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(run_manual(amain()), "a Task can be awaited only once");
}

TEST(Task, FrameLocalsAreDestroyedWhenTheTaskEnds) {
  auto body = []() -> Task<void> {
    LifetimeCounter c;
    co_await sleep(std::chrono::milliseconds(1));
  };
  auto amain = [](decltype(body) b) -> Task<void> { co_await b(); };
  run_manual(amain(body));
  EXPECT_EQ(LifetimeCounter::alive, 0);
}

TEST(Task, NeverAwaitedTaskIsReported) {
  WarningRecorder warnings;
  { Task<int> t = value(1); }
  ASSERT_EQ(warnings.count(WarningKind::kNeverAwaited), 1);
  EXPECT_NE(warnings.all()[0].message.find("was never awaited"), std::string::npos);
}

Task<long> chain(int depth) {
  if (depth == 0) {
    co_return 0;
  }
  co_return 1 + co_await chain(depth - 1);
}

Task<long> chain_with_suspension(int depth) {
  if (depth == 0) {
    co_await sleep(std::chrono::milliseconds(1));
    co_return 0;
  }
  co_return 1 + co_await chain_with_suspension(depth - 1);
}

// Runs `fn` on a thread with a small stack: if await chains grew the stack, it would
// overflow (a frame-per-level resume costs well over 32 bytes of stack).
template <class F>
void on_small_stack(F fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  auto* heap_fn = new F(std::move(fn));
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* arg) -> void* {
                  std::unique_ptr<F> f(static_cast<F*>(arg));
                  (*f)();
                  return nullptr;
                },
                heap_fn),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

TEST(Task, TenThousandDeepAwaitChainRunsInConstantStack) {
  long result = 0;
  on_small_stack([&result] { result = run_manual(chain(10'000)); });
  EXPECT_EQ(result, 10'000);
}

TEST(Task, DeepChainSuspendedAtTheBottomUnwindsInConstantStack) {
  long result = 0;
  on_small_stack([&result] { result = run_manual(chain_with_suspension(10'000)); });
  EXPECT_EQ(result, 10'000);
}

}  // namespace
}  // namespace loopscope
