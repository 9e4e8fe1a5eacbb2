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
Task<void> fail_after(std::chrono::milliseconds d, std::string message) {
  co_await sleep(d);
  throw std::runtime_error(message);
}

Task<void> fail_when_cancelled(std::string message) {
  try {
    co_await sleep(1h);
  } catch (const CancelledError&) {
    throw std::runtime_error(message);
  }
}

TEST(TaskGroup, JoinWaitsForEveryChild) {
  auto amain = []() -> Task<long long> {
    TaskGroup tg;
    auto a = tg.spawn(after(10ms, 1));
    auto b = tg.spawn(after(20ms, 2));
    co_await tg.join();
    EXPECT_EQ(a.result() + b.result(), 3);
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 20);
}

TEST(TaskGroup, FirstFailureCancelsTheSiblings) {
  auto amain = []() -> Task<long long> {
    TaskGroup tg;
    auto slow = tg.spawn(after(1h, 1));
    tg.spawn(fail_after(5ms, "one"));
    try {
      co_await tg.join();
      ADD_FAILURE() << "join should throw";
    } catch (const TaskGroupError& e) {
      EXPECT_EQ(e.exceptions().size(), 1u);
    }
    EXPECT_TRUE(slow.cancelled());
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 5);
}

TEST(TaskGroup, JoinAggregatesEveryFailureButNotTheCancellationsItCaused) {
  auto amain = []() -> Task<std::vector<std::string>> {
    TaskGroup tg;
    tg.spawn(fail_after(5ms, "first"));
    tg.spawn(fail_when_cancelled("second"));  // its cleanup fails after the group cancels it
    tg.spawn(after(1h, 0));                   // cancelled by the group: not a failure
    std::vector<std::string> messages;
    try {
      co_await tg.join();
    } catch (const TaskGroupError& e) {
      for (const auto& ex : e.exceptions()) {
        try {
          std::rethrow_exception(ex);
        } catch (const std::runtime_error& re) {
          messages.emplace_back(re.what());
        }
      }
    }
    co_return messages;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<std::string>{"first", "second"}));
}

TEST(TaskGroup, CancellingTheJoinerCancelsTheChildrenAndWaitsForThem) {
  auto child = [](int* cleaned) -> Task<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      ++*cleaned;
      throw;
    }
  };
  auto owner = [](decltype(child) c, int* cleaned) -> Task<void> {
    TaskGroup tg;
    tg.spawn(c(cleaned));
    tg.spawn(c(cleaned));
    co_await tg.join();
  };
  auto amain = [](decltype(child) c, decltype(owner) o) -> Task<int> {
    int cleaned = 0;
    auto h = spawn(o(c, &cleaned));
    co_await sleep(1ms);
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
    co_return cleaned;  // both children finished before the owner did
  };
  EXPECT_EQ(run_manual(amain(child, owner)), 2);
}

TEST(TaskGroup, DestroyingAnUnjoinedGroupCancelsItsChildren) {
  WarningRecorder warnings;
  auto amain = []() -> Task<bool> {
    TaskHandle<int> h;
    {
      TaskGroup tg;
      h = tg.spawn(after(1h, 1));
    }
    try {
      co_await h;
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_manual(amain()));
  EXPECT_EQ(warnings.count(WarningKind::kDestroyedPending), 1);
}

TEST(TaskGroup, SpawnAfterJoinIsRefused) {
  const testing::WarningRecorder warnings{WarningKind::kNeverAwaited};  // the refused task
  auto amain = []() -> Task<void> {
    TaskGroup tg;
    co_await tg.join();
    EXPECT_THROW(tg.spawn(after(1ms, 1)), Error);
  };
  run_manual(amain());
}

TEST(TaskGroup, EmptyGroupJoinsImmediately) {
  auto amain = []() -> Task<long long> {
    TaskGroup tg;
    co_await tg.join();
    co_return now_ms();
  };
  EXPECT_EQ(run_manual(amain()), 0);
}

TEST(TaskGroup, ConstructionOutsideALoopIsAClearError) {
  EXPECT_THROW(TaskGroup{}, Error);
}

}  // namespace
}  // namespace loopscope
