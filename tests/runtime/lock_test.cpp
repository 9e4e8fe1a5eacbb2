#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::run_manual;

constexpr int kWorkers = 10;
constexpr int kIncrements = 10;

// Reads the counter, lets the other tasks run, writes it back: the classic lost update.
Task<void> increment_racily(int* counter) {
  for (int i = 0; i < kIncrements; ++i) {
    const int seen = *counter;
    co_await sleep(0ms);
    *counter = seen + 1;
  }
}

Task<void> increment_locked(Lock* lock, int* counter) {
  for (int i = 0; i < kIncrements; ++i) {
    LockGuard guard = co_await lock->acquire();
    const int seen = *counter;
    co_await sleep(0ms);
    *counter = seen + 1;
  }
}

Task<void> record_admission(Lock* lock, std::vector<int>* order, int id) {
  LockGuard guard = co_await lock->acquire();
  order->push_back(id);
  co_await sleep(0ms);
}

TEST(Lock, WithoutTheLockConcurrentReadYieldWriteLosesUpdates) {
  auto amain = []() -> Task<int> {
    int counter = 0;
    std::vector<TaskHandle<void>> tasks;
    for (int i = 0; i < kWorkers; ++i) {
      tasks.push_back(spawn(increment_racily(&counter)));
    }
    for (auto& t : tasks) {
      co_await t;
    }
    co_return counter;
  };
  EXPECT_LT(run_manual(amain()), kWorkers * kIncrements);
}

TEST(Lock, WithTheLockConcurrentReadYieldWriteKeepsEveryUpdate) {
  auto amain = []() -> Task<int> {
    Lock lock;
    int counter = 0;
    std::vector<TaskHandle<void>> tasks;
    for (int i = 0; i < kWorkers; ++i) {
      tasks.push_back(spawn(increment_locked(&lock, &counter)));
    }
    for (auto& t : tasks) {
      co_await t;
    }
    EXPECT_FALSE(lock.locked());
    co_return counter;
  };
  EXPECT_EQ(run_manual(amain()), kWorkers * kIncrements);
}

TEST(Lock, WaitersGetTheLockInTheOrderTheyArrived) {
  auto amain = []() -> Task<std::vector<int>> {
    Lock lock;
    std::vector<int> order;
    std::vector<TaskHandle<void>> tasks;
    {
      LockGuard guard = co_await lock.acquire();
      for (int i = 0; i < 5; ++i) {
        tasks.push_back(spawn(record_admission(&lock, &order, i)));
      }
      co_await sleep(0ms);
      EXPECT_EQ(lock.waiters(), 5u);
    }
    for (auto& t : tasks) {
      co_await t;
    }
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Lock, TheGuardReleasesTheLockAtTheEndOfItsScope) {
  auto amain = []() -> Task<void> {
    Lock lock;
    {
      LockGuard guard = co_await lock.acquire();
      EXPECT_TRUE(lock.locked());
      EXPECT_TRUE(guard.owns_lock());
    }
    EXPECT_FALSE(lock.locked());
    LockGuard early = co_await lock.acquire();
    early.release();
    EXPECT_FALSE(lock.locked());
    EXPECT_FALSE(early.owns_lock());
  };
  run_manual(amain());
}

TEST(Lock, ReleaseByATaskThatDoesNotOwnItThrows) {
  auto intruder = [](Lock* lock) -> Task<std::string> {
    try {
      lock->release();
    } catch (const Error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  auto amain = [](decltype(intruder) in) -> Task<std::string> {
    Lock lock;
    LockGuard guard = co_await lock.acquire();
    std::string message = co_await spawn(in(&lock));
    EXPECT_TRUE(lock.locked());
    co_return message;
  };
  EXPECT_EQ(run_manual(amain(intruder)), "Lock released by a task that does not own it");
}

TEST(Lock, ReleaseFromOutsideAnyTaskThrows) {
  auto amain = []() -> Task<bool> {
    Lock lock;
    LockGuard guard = co_await lock.acquire();
    bool threw = false;
    current_loop().call_soon([&lock, &threw] {
      try {
        lock.release();
      } catch (const Error&) {
        threw = true;
      }
    });
    co_await sleep(0ms);
    co_await sleep(0ms);
    EXPECT_TRUE(lock.locked());
    co_return threw;
  };
  EXPECT_TRUE(run_manual(amain()));
}

TEST(Lock, ReleaseOfALockThatIsNotHeldThrows) {
  Lock lock;
  EXPECT_THROW(lock.release(), Error);
}

TEST(Lock, TheOwnerMayReleaseExplicitlyAndItsGuardThenDoesNothing) {
  auto amain = []() -> Task<std::vector<int>> {
    Lock lock;
    std::vector<int> order;
    LockGuard guard = co_await lock.acquire();
    auto other = spawn(record_admission(&lock, &order, 1));
    co_await sleep(0ms);
    lock.release();  // handed to `other`
    EXPECT_TRUE(lock.locked());
    guard.release();  // must not unlock the acquisition that now belongs to `other`
    EXPECT_TRUE(lock.locked());
    co_await other;
    EXPECT_FALSE(lock.locked());
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{1}));
}

TEST(Lock, ACancelledWaiterNeverGetsTheLock) {
  auto amain = []() -> Task<std::vector<int>> {
    Lock lock;
    std::vector<int> order;
    auto a = spawn(record_admission(&lock, &order, 1));
    auto b = spawn(record_admission(&lock, &order, 2));
    {
      LockGuard guard = co_await lock.acquire();
      co_await sleep(0ms);
      a.cancel();
      EXPECT_EQ(lock.waiters(), 1u);
    }
    EXPECT_THROW(co_await a, CancelledError);
    co_await b;
    EXPECT_FALSE(lock.locked());
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2}));
}

TEST(Lock, AWaiterCancelledAfterTheHandOverPassesTheLockOn) {
  auto amain = []() -> Task<std::vector<int>> {
    Lock lock;
    std::vector<int> order;
    LockGuard guard = co_await lock.acquire();
    auto a = spawn(record_admission(&lock, &order, 1));
    auto b = spawn(record_admission(&lock, &order, 2));
    co_await sleep(0ms);
    guard.release();  // the lock now belongs to a, which has not resumed yet
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    co_await b;
    EXPECT_FALSE(lock.locked());
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2}));
}

TEST(Lock, TimeoutAroundAcquireLeavesNoWaiterBehind) {
  auto holder = [](Lock* lock) -> Task<void> {
    LockGuard guard = co_await lock->acquire();
    co_await sleep(1h);
  };
  auto amain = [](decltype(holder) hold) -> Task<void> {
    Lock lock;
    auto h = spawn(hold(&lock));
    co_await sleep(0ms);
    EXPECT_THROW(co_await timeout(10ms, lock.acquire()), TimeoutError);
    EXPECT_EQ(lock.waiters(), 0u);
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
    EXPECT_FALSE(lock.locked());
  };
  run_manual(amain(holder));
}

}  // namespace
}  // namespace loopscope
