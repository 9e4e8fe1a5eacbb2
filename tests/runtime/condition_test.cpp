#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::run_manual;

// Waits once for a notification and records its id when it has the lock again.
Task<void> wait_once(Condition* cond, std::vector<int>* woken, int id) {
  LockGuard guard = co_await cond->acquire();
  co_await cond->wait(guard);
  EXPECT_TRUE(guard.owns_lock());
  EXPECT_TRUE(cond->locked());
  woken->push_back(id);
}

Task<void> notify_under_lock(Condition* cond, std::size_t n) {
  LockGuard guard = co_await cond->acquire();
  cond->notify(n);
}

TEST(Condition, WaitReleasesTheLockAndHoldsItAgainAfterANotify) {
  auto amain = []() -> Task<std::vector<int>> {
    Condition cond;
    std::vector<int> woken;
    auto h = spawn(wait_once(&cond, &woken, 1));
    co_await sleep(0ms);
    EXPECT_FALSE(cond.locked());  // released while it waits
    EXPECT_EQ(cond.waiters(), 1u);
    {
      LockGuard guard = co_await cond.acquire();
      cond.notify();
      co_await sleep(0ms);
      EXPECT_TRUE(woken.empty());  // notified, but the lock is still ours
    }
    co_await h;
    EXPECT_FALSE(cond.locked());
    co_return woken;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{1}));
}

TEST(Condition, NotifyWakesTheOldestWaitersFirst) {
  auto amain = []() -> Task<std::vector<int>> {
    Condition cond;
    std::vector<int> woken;
    std::vector<TaskHandle<void>> tasks;
    for (int i = 0; i < 3; ++i) {
      tasks.push_back(spawn(wait_once(&cond, &woken, i)));
    }
    co_await sleep(0ms);
    co_await notify_under_lock(&cond, 2);
    co_await sleep(0ms);
    co_await sleep(0ms);
    EXPECT_EQ(woken, (std::vector<int>{0, 1}));
    EXPECT_EQ(cond.waiters(), 1u);
    co_await notify_under_lock(&cond, 1);
    for (auto& t : tasks) {
      co_await t;
    }
    co_return woken;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{0, 1, 2}));
}

TEST(Condition, NotifyAllWakesEveryWaiter) {
  auto amain = []() -> Task<std::size_t> {
    Condition cond;
    std::vector<int> woken;
    std::vector<TaskHandle<void>> tasks;
    for (int i = 0; i < 4; ++i) {
      tasks.push_back(spawn(wait_once(&cond, &woken, i)));
    }
    co_await sleep(0ms);
    {
      LockGuard guard = co_await cond.acquire();
      cond.notify_all();
    }
    for (auto& t : tasks) {
      co_await t;
    }
    co_return woken.size();
  };
  EXPECT_EQ(run_manual(amain()), 4u);
}

TEST(Condition, WaitForReturnsOnceThePredicateHolds) {
  auto consumer = [](Condition* cond, std::vector<int>* items) -> Task<int> {
    LockGuard guard = co_await cond->acquire();
    co_await cond->wait_for(guard, [items] { return items->size() >= 3; });
    co_return static_cast<int>(items->size());
  };
  auto amain = [](decltype(consumer) c) -> Task<int> {
    Condition cond;
    std::vector<int> items;
    auto h = spawn(c(&cond, &items));
    for (int i = 0; i < 5; ++i) {
      co_await sleep(1ms);
      LockGuard guard = co_await cond.acquire();
      items.push_back(i);
      cond.notify();
    }
    co_return co_await h;
  };
  EXPECT_EQ(run_manual(amain(consumer)), 3);
}

TEST(Condition, NotifyWithoutHoldingTheLockThrows) {
  Condition cond;
  EXPECT_THROW(cond.notify(), Error);
  EXPECT_THROW(cond.notify_all(), Error);
}

TEST(Condition, WaitWithAGuardOfAnotherLockThrows) {
  auto amain = []() -> Task<void> {
    Condition cond;
    Lock other;
    LockGuard guard = co_await other.acquire();
    EXPECT_THROW(co_await cond.wait(guard), Error);
    EXPECT_TRUE(guard.owns_lock());
  };
  run_manual(amain());
}

TEST(Condition, ACancelledWaiterHoldsTheLockAgainBeforeItThrows) {
  auto waiter = [](Condition* cond, bool* held_when_cancelled) -> Task<void> {
    LockGuard guard = co_await cond->acquire();
    try {
      co_await cond->wait(guard);
    } catch (const CancelledError&) {
      *held_when_cancelled = guard.owns_lock() && cond->locked();
      throw;
    }
  };
  auto amain = [](decltype(waiter) w) -> Task<bool> {
    Condition cond;
    bool held = false;
    LockGuard mine;
    auto h = spawn(w(&cond, &held));
    co_await sleep(0ms);
    mine = co_await cond.acquire();
    h.cancel();  // it must wait for our lock before it can throw
    co_await sleep(0ms);
    EXPECT_FALSE(h.done());
    mine.release();
    EXPECT_THROW(co_await h, CancelledError);
    EXPECT_FALSE(cond.locked());
    co_return held;
  };
  EXPECT_TRUE(run_manual(amain(waiter)));
}

TEST(Condition, ANotifiedWaiterThatIsCancelledPassesTheNotificationOn) {
  auto amain = []() -> Task<std::vector<int>> {
    Condition cond;
    std::vector<int> woken;
    auto a = spawn(wait_once(&cond, &woken, 1));
    auto b = spawn(wait_once(&cond, &woken, 2));
    co_await sleep(0ms);
    {
      LockGuard guard = co_await cond.acquire();
      cond.notify(1);  // picks a ...
      a.cancel();      // ... which is cancelled before it resumes
    }
    EXPECT_THROW(co_await a, CancelledError);
    co_await b;
    co_return woken;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2}));
}

TEST(Condition, ConditionsCanShareALock) {
  auto amain = []() -> Task<std::vector<int>> {
    Lock lock;
    Condition first(lock);
    Condition second(lock);
    std::vector<int> woken;
    auto a = spawn(wait_once(&first, &woken, 1));
    auto b = spawn(wait_once(&second, &woken, 2));
    co_await sleep(0ms);
    {
      LockGuard guard = co_await lock.acquire();
      second.notify();
    }
    co_await b;
    EXPECT_FALSE(a.done());
    co_await notify_under_lock(&first, 1);
    co_await a;
    co_return woken;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2, 1}));
}

}  // namespace
}  // namespace loopscope
