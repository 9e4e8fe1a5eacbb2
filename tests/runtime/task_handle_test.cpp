#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;
using testing::WarningRecorder;

Task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}

Task<void> fail_after(std::chrono::milliseconds d) {
  co_await sleep(d);
  throw std::runtime_error("child failed");
}

TEST(TaskHandle, SpawnedTaskRunsConcurrentlyAndIsAwaitable) {
  auto amain = []() -> Task<long long> {
    auto a = spawn(after(10ms, 1));
    auto b = spawn(after(10ms, 2));
    const int sum = co_await a + co_await b;
    EXPECT_EQ(sum, 3);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 10);  // concurrent: 10 ms, not 20
}

TEST(TaskHandle, ReportsDoneResultAndName) {
  auto amain = []() -> Task<void> {
    auto h = spawn(after(5ms, 42), "answer");
    EXPECT_FALSE(h.done());
    EXPECT_THROW((void)h.result(), InvalidStateError);
    EXPECT_EQ(h.name(), "answer");
    h.set_name("renamed");
    co_await h;
    EXPECT_TRUE(h.done());
    EXPECT_FALSE(h.cancelled());
    EXPECT_EQ(h.result(), 42);
    EXPECT_EQ(h.exception(), nullptr);
    EXPECT_EQ(h.name(), "renamed");
  };
  run_manual(amain());
}

TEST(TaskHandle, DefaultNameIsTaskAndItsId) {
  auto amain = []() -> Task<std::string> {
    auto h = spawn(after(0ms, 0));
    co_await h;
    co_return h.name() == "Task-" + std::to_string(h.id()) ? "ok" : h.name();
  };
  EXPECT_EQ(run_manual(amain()), "ok");
}

TEST(TaskHandle, SeveralAwaitersAllGetTheResult) {
  auto waiter = [](TaskHandle<int> h) -> Task<int> { co_return co_await h; };
  auto amain = [](decltype(waiter) w) -> Task<int> {
    auto target = spawn(after(5ms, 7));
    auto w1 = spawn(w(target));
    auto w2 = spawn(w(target));
    co_return co_await w1 + co_await w2 + co_await target;
  };
  EXPECT_EQ(run_manual(amain(waiter)), 21);
}

TEST(TaskHandle, DroppingTheHandleDoesNotStopTheTask) {
  auto child = [](int* out) -> Task<void> {
    co_await sleep(5ms);
    *out = 1;
  };
  auto amain = [](decltype(child) c) -> Task<int> {
    int out = 0;
    { (void)spawn(c(&out)); }
    co_await sleep(10ms);
    co_return out;
  };
  EXPECT_EQ(run_manual(amain(child)), 1);
}

TEST(TaskHandle, CancelRaisesCancelledErrorAtTheSuspensionPoint) {
  auto child = [](bool* caught) -> Task<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      *caught = true;  // delivered inside the try, like asyncio
      throw;
    }
  };
  auto amain = [](decltype(child) c) -> Task<long long> {
    bool caught = false;
    auto h = spawn(c(&caught));
    co_await sleep(1ms);
    EXPECT_TRUE(h.cancel());
    EXPECT_THROW(co_await h, CancelledError);
    EXPECT_TRUE(caught);
    EXPECT_TRUE(h.cancelled());
    EXPECT_THROW((void)h.result(), CancelledError);
    EXPECT_THROW((void)h.exception(), CancelledError);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain(child)), 1);  // the 1 h timer was disarmed, not waited for
}

TEST(TaskHandle, CancelBeforeTheFirstStepNeverRunsTheBody) {
  auto child = [](bool* ran) -> Task<void> {
    *ran = true;
    co_return;
  };
  auto amain = [](decltype(child) c) -> Task<bool> {
    bool ran = false;
    auto h = spawn(c(&ran));
    h.cancel();
    try {
      co_await h;
    } catch (const CancelledError&) {
    }
    co_return ran;
  };
  EXPECT_FALSE(run_manual(amain(child)));
}

TEST(TaskHandle, CancelOfAFinishedTaskIsANoOp) {
  auto amain = []() -> Task<int> {
    auto h = spawn(after(1ms, 5));
    co_await h;
    EXPECT_FALSE(h.cancel());
    EXPECT_FALSE(h.cancelled());
    co_return h.result();
  };
  EXPECT_EQ(run_manual(amain()), 5);
}

TEST(TaskHandle, SelfCancelIsDeliveredAtTheNextSuspension) {
  auto child = [](int* steps) -> Task<void> {
    auto& loop = current_loop();
    loop.current_task()->cancel();
    ++*steps;  // still running: cancellation waits for the next suspension point
    co_await sleep(0ms);
    ++*steps;
  };
  auto amain = [](decltype(child) c) -> Task<int> {
    int steps = 0;
    auto h = spawn(c(&steps));
    EXPECT_THROW(co_await h, CancelledError);
    co_return steps;
  };
  EXPECT_EQ(run_manual(amain(child)), 1);
}

TEST(TaskHandle, CancellingTheAwaiterCancelsTheAwaitedTaskToo) {
  auto inner_body = []() -> Task<int> {
    co_await sleep(1h);
    co_return 1;
  };
  auto outer_body = [](TaskHandle<int> inner) -> Task<int> { co_return co_await inner; };
  auto amain = [](decltype(inner_body) ib, decltype(outer_body) ob) -> Task<void> {
    auto inner = spawn(ib());
    auto outer = spawn(ob(inner));
    co_await sleep(1ms);
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_TRUE(inner.cancelled());
    EXPECT_TRUE(outer.cancelled());
  };
  run_manual(amain(inner_body, outer_body));
}

TEST(TaskHandle, FailureIsRethrownToEveryAwaiter) {
  auto amain = []() -> Task<int> {
    auto h = spawn(fail_after(1ms));
    int caught = 0;
    for (int i = 0; i < 2; ++i) {
      try {
        co_await h;
      } catch (const std::runtime_error&) {
        ++caught;
      }
    }
    EXPECT_NE(h.exception(), nullptr);
    co_return caught;
  };
  EXPECT_EQ(run_manual(amain()), 2);
}

TEST(TaskHandle, UnretrievedExceptionIsReportedWhenTheTaskIsFreed) {
  WarningRecorder warnings;
  auto amain = []() -> Task<void> {
    (void)spawn(fail_after(1ms));
    co_await sleep(2ms);
  };
  run_manual(amain());
  ASSERT_EQ(warnings.count(WarningKind::kExceptionNeverRetrieved), 1);
  EXPECT_NE(warnings.all()[0].message.find("std::runtime_error: child failed"), std::string::npos);
}

TEST(TaskHandle, RetrievedExceptionIsNotReported) {
  WarningRecorder warnings;
  auto amain = []() -> Task<void> {
    auto h = spawn(fail_after(1ms));
    co_await sleep(2ms);
    EXPECT_NE(h.exception(), nullptr);
  };
  run_manual(amain());
  EXPECT_EQ(warnings.count(WarningKind::kExceptionNeverRetrieved), 0);
}

TEST(TaskHandle, ATaskAwaitingItselfIsAClearError) {
  auto body = [](TaskHandle<void>* self) -> Task<void> {
    co_await sleep(0ms);
    co_await *self;
  };
  auto amain = [](decltype(body) b) -> Task<std::string> {
    TaskHandle<void> h;
    h = spawn(b(&h));
    try {
      co_await h;
    } catch (const Error& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_NE(run_manual(amain(body)).find("awaits itself"), std::string::npos);
}

TEST(TaskHandle, SpawnOutsideALoopIsAClearError) {
  const testing::WarningRecorder warnings{WarningKind::kNeverAwaited};  // the refused task
  try {
    (void)spawn(after(1ms, 1));
    FAIL() << "spawn outside a loop must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no running event loop"), std::string::npos);
  }
}

TEST(TaskHandle, MoveOnlyResultCanBeTakenOnce) {
  auto make = []() -> Task<std::unique_ptr<int>> { co_return std::make_unique<int>(3); };
  auto amain = [](decltype(make) m) -> Task<void> {
    auto h = spawn(m());
    auto p = co_await h;
    EXPECT_EQ(*p, 3);
    EXPECT_THROW(co_await h, InvalidStateError);
  };
  run_manual(amain(make));
}

}  // namespace
}  // namespace loopscope
