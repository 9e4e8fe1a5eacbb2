#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

struct Occupancy {
  int inside = 0;
  int peak = 0;
  int finished = 0;
};

Task<void> hold_permit(Semaphore* sem, Occupancy* occupancy) {
  SemaphorePermit permit = co_await sem->acquire();
  occupancy->peak = std::max(occupancy->peak, ++occupancy->inside);
  co_await sleep(1ms);
  --occupancy->inside;
  ++occupancy->finished;
}

Task<void> record_admission(Semaphore* sem, std::vector<int>* order, int id) {
  SemaphorePermit permit = co_await sem->acquire();
  order->push_back(id);
  co_await sleep(0ms);
}

TEST(Semaphore, NeverAdmitsMoreTasksThanItHasPermitsAndFillsThemAll) {
  auto amain = []() -> Task<void> {
    Semaphore sem{10};
    Occupancy occupancy;
    std::vector<TaskHandle<void>> tasks;
    for (int i = 0; i < 100; ++i) {
      tasks.push_back(spawn(hold_permit(&sem, &occupancy)));
    }
    for (auto& t : tasks) {
      co_await t;
    }
    EXPECT_EQ(occupancy.peak, 10);
    EXPECT_EQ(occupancy.finished, 100);
    EXPECT_EQ(sem.value(), 10u);
    EXPECT_EQ(now_ms(), 10);  // ten rounds of ten tasks, 1 ms each
  };
  run_manual(amain());
}

TEST(Semaphore, AdmitsWaitersInTheOrderTheyArrived) {
  auto amain = []() -> Task<std::vector<int>> {
    Semaphore sem{1};
    std::vector<int> order;
    std::vector<TaskHandle<void>> tasks;
    {
      SemaphorePermit held = co_await sem.acquire();
      for (int i = 0; i < 5; ++i) {
        tasks.push_back(spawn(record_admission(&sem, &order, i)));
      }
      co_await sleep(0ms);  // every task is queued now
      EXPECT_EQ(sem.waiters(), 5u);
    }
    for (auto& t : tasks) {
      co_await t;
    }
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Semaphore, ATaskArrivingRightAfterAReleaseQueuesBehindTheWaiters) {
  auto amain = []() -> Task<std::vector<int>> {
    Semaphore sem{1};
    std::vector<int> order;
    SemaphorePermit held = co_await sem.acquire();
    auto waiter = spawn(record_admission(&sem, &order, 1));
    co_await sleep(0ms);
    held.release();  // handed to the waiter, which has not run yet
    EXPECT_EQ(sem.value(), 0u);
    EXPECT_FALSE(sem.try_acquire());
    co_await record_admission(&sem, &order, 2);  // no barging: waits for the waiter
    co_await waiter;
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{1, 2}));
}

TEST(Semaphore, AcquireDoesNotSuspendWhileAPermitIsFree) {
  auto other = [](bool* ran) -> Task<void> {
    *ran = true;
    co_return;
  };
  auto amain = [](decltype(other) o) -> Task<void> {
    Semaphore sem{2};
    bool ran = false;
    auto h = spawn(o(&ran));
    SemaphorePermit a = co_await sem.acquire();
    SemaphorePermit b = co_await sem.acquire();
    EXPECT_FALSE(ran);  // neither acquire gave the loop a chance to run the other task
    EXPECT_TRUE(sem.locked());
    co_await h;
  };
  run_manual(amain(other));
}

TEST(Semaphore, ACancelledWaiterLeavesTheQueueWithoutTakingAPermit) {
  auto amain = []() -> Task<std::vector<int>> {
    Semaphore sem{1};
    std::vector<int> order;
    auto a = spawn(record_admission(&sem, &order, 1));
    auto b = spawn(record_admission(&sem, &order, 2));
    {
      SemaphorePermit held = co_await sem.acquire();
      co_await sleep(0ms);
      EXPECT_EQ(sem.waiters(), 2u);
      a.cancel();
      EXPECT_EQ(sem.waiters(), 1u);
    }
    EXPECT_THROW(co_await a, CancelledError);
    co_await b;
    EXPECT_EQ(sem.value(), 1u);
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2}));
}

TEST(Semaphore, AWaiterCancelledAfterTheHandOverPassesThePermitOn) {
  auto amain = []() -> Task<std::vector<int>> {
    Semaphore sem{1};
    std::vector<int> order;
    SemaphorePermit held = co_await sem.acquire();
    auto a = spawn(record_admission(&sem, &order, 1));
    auto b = spawn(record_admission(&sem, &order, 2));
    co_await sleep(0ms);
    held.release();  // the permit now belongs to a, which has not resumed yet
    EXPECT_EQ(sem.waiters(), 1u);
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    co_await b;
    EXPECT_EQ(sem.value(), 1u);
    co_return order;
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2}));
}

TEST(Semaphore, APendingCancellationStopsTheWaitBeforeItStarts) {
  auto amain = []() -> Task<void> {
    Semaphore sem{0};
    current_loop().current_task()->cancel();
    EXPECT_THROW(co_await sem.acquire(), CancelledError);
    EXPECT_EQ(sem.waiters(), 0u);
    EXPECT_EQ(sem.value(), 0u);
    current_loop().current_task()->uncancel();
  };
  run_manual(amain());
}

TEST(Semaphore, TimeoutAroundAcquireLeavesNoWaiterBehind) {
  auto amain = []() -> Task<void> {
    Semaphore sem{0};
    EXPECT_THROW(co_await timeout(10ms, sem.acquire()), TimeoutError);
    EXPECT_EQ(now_ms(), 10);
    EXPECT_EQ(sem.waiters(), 0u);
    sem.release();
    SemaphorePermit permit = co_await timeout(10ms, sem.acquire());
    EXPECT_TRUE(permit.owns_permit());
    EXPECT_EQ(sem.value(), 0u);
  };
  run_manual(amain());
}

TEST(Semaphore, APermitReleasedEarlyIsNotReleasedAgain) {
  auto amain = []() -> Task<void> {
    Semaphore sem{1};
    {
      SemaphorePermit permit = co_await sem.acquire();
      permit.release();
      EXPECT_EQ(sem.value(), 1u);
      permit.release();
      EXPECT_FALSE(permit.owns_permit());
      SemaphorePermit moved = co_await sem.acquire();
      SemaphorePermit target = std::move(moved);
      EXPECT_EQ(sem.value(), 0u);
    }
    EXPECT_EQ(sem.value(), 1u);
  };
  run_manual(amain());
}

TEST(Semaphore, TryAcquireTakesOnlyFreePermits) {
  Semaphore sem{1};
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  EXPECT_TRUE(sem.locked());
  sem.release();
  EXPECT_EQ(sem.value(), 1u);
}

TEST(Semaphore, APlainSemaphoreMayBeReleasedAboveItsInitialValue) {
  Semaphore sem{1};
  sem.release();
  EXPECT_EQ(sem.value(), 2u);
}

TEST(BoundedSemaphore, ThrowsWhenReleasedMoreOftenThanAcquired) {
  BoundedSemaphore sem{2};
  EXPECT_THROW(sem.release(), Error);
  EXPECT_TRUE(sem.try_acquire());
  sem.release();
  EXPECT_EQ(sem.value(), 2u);
  try {
    sem.release();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "BoundedSemaphore released too many times");
  }
  EXPECT_EQ(sem.value(), 2u);
}

TEST(BoundedSemaphore, PermitsWorkAsForAPlainSemaphore) {
  auto amain = []() -> Task<void> {
    BoundedSemaphore sem{1};
    Occupancy occupancy;
    auto a = spawn(hold_permit(&sem, &occupancy));
    auto b = spawn(hold_permit(&sem, &occupancy));
    co_await a;
    co_await b;
    EXPECT_EQ(occupancy.peak, 1);
    EXPECT_EQ(sem.value(), 1u);
    EXPECT_THROW(sem.release(), Error);
  };
  run_manual(amain());
}

TEST(Semaphore, AcquireOutsideATaskThrows) {
  auto amain = []() -> Task<bool> {
    Semaphore sem{0};
    bool threw = false;
    Event done;
    current_loop().call_soon([&sem, &threw, &done] {
      auto awaiter = sem.acquire();
      try {
        (void)awaiter.await_suspend(std::noop_coroutine());
      } catch (const Error&) {
        threw = true;
      }
      done.set();
    });
    co_await done.wait();
    co_return threw;
  };
  EXPECT_TRUE(run_manual(amain()));
}

}  // namespace
}  // namespace loopscope
