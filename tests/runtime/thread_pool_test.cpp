#include <loopscope/detail/unique_function.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/thread_pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace loopscope {
namespace {

TEST(UniqueFunction, HoldsAMoveOnlyCallableAndMovesWithIt) {
  int seen = 0;
  detail::UniqueFunction f = [p = std::make_unique<int>(7), &seen] { seen = *p; };
  detail::UniqueFunction g = std::move(f);
  EXPECT_FALSE(static_cast<bool>(f));  // NOLINT(bugprone-use-after-move): checks the move
  g();
  EXPECT_EQ(seen, 7);
}

TEST(UniqueFunction, HoldsCallablesTooLargeForItsInlineStorage) {
  std::array<int, 64> big{};
  big[63] = 5;
  int seen = 0;
  detail::UniqueFunction f = [big, &seen] { seen = big[63]; };
  detail::UniqueFunction g;
  g = std::move(f);
  g();
  EXPECT_EQ(seen, 5);
}

TEST(UniqueFunction, DestroysItsCallableExactlyOnce) {
  auto token = std::make_shared<int>(0);
  {
    detail::UniqueFunction f = [token] {};
    detail::UniqueFunction g = std::move(f);
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_EQ(token.use_count(), 1);
}

TEST(ThreadPool, RefusesZeroThreads) {
  EXPECT_THROW(ThreadPool(0), Error);
}

TEST(ThreadPool, HasTheNumberOfWorkersItWasGiven) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3U);
}

TEST(ThreadPool, RunsJobsInFifoOrderWithOneThread) {
  std::vector<int> order;  // touched by the single worker only, read after the join
  {
    ThreadPool pool(1);
    for (int i = 0; i < 100; ++i) {
      pool.submit([&order, i] { order.push_back(i); });
    }
  }
  ASSERT_EQ(order.size(), 100U);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(order[i], i);
  }
}

TEST(ThreadPool, DestructionFinishesTheJobsStillQueued) {
  std::latch release(1);
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    pool.submit([&release] { release.wait(); });  // keeps the others queued
    for (int i = 0; i < 10; ++i) {
      pool.submit([&ran] { ran.fetch_add(1); });
    }
    EXPECT_EQ(ran.load(), 0);
    release.count_down();
  }
  EXPECT_EQ(ran.load(), 10);
}

TEST(ThreadPool, RunsJobsThatAJobSubmitsWhileItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    pool.submit([&pool, &ran] {
      pool.submit([&ran] { ran.fetch_add(1); });
      ran.fetch_add(1);
    });
  }
  EXPECT_EQ(ran.load(), 2);
}

TEST(ThreadPool, AcceptsMoveOnlyJobs) {
  std::promise<int> result;
  std::future<int> future = result.get_future();
  ThreadPool pool(1);
  pool.submit(
      [p = std::make_unique<int>(42), out = std::move(result)]() mutable { out.set_value(*p); });
  EXPECT_EQ(future.get(), 42);
}

TEST(ThreadPool, RunsUpToItsSizeJobsAtOnce) {
  constexpr int kJobs = 8;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::mutex ids_mutex;
  std::set<std::thread::id> ids;
  // Each job waits for a partner at the barrier: two must run at the same time.
  std::barrier<> pair(2);
  {
    ThreadPool pool(2);
    for (int i = 0; i < kJobs; ++i) {
      pool.submit([&] {
        const int now = running.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        {
          std::lock_guard lock(ids_mutex);
          ids.insert(std::this_thread::get_id());
        }
        pair.arrive_and_wait();
        running.fetch_sub(1);
      });
    }
  }
  EXPECT_EQ(most.load(), 2);
  EXPECT_EQ(ids.size(), 2U);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0U);
}

TEST(ThreadPool, NamesItsWorkersLoopscopePool) {
  std::promise<std::string> name;
  std::future<std::string> future = name.get_future();
  ThreadPool pool(1);
  pool.submit([&name] {
    std::array<char, 16> buffer{};
    pthread_getname_np(pthread_self(), buffer.data(), buffer.size());
    name.set_value(buffer.data());
  });
  EXPECT_EQ(future.get(), "loopscope-pool");
}

TEST(ThreadPool, AJobThatThrowsDoesNotStopItsWorker) {
  std::promise<int> after;
  std::future<int> future = after.get_future();
  ThreadPool pool(1);
  pool.submit([] { throw std::runtime_error("job failed"); });
  pool.submit([&after] { after.set_value(1); });
  EXPECT_EQ(future.get(), 1);
}

TEST(DefaultThreadPool, HasAsyncioDefaultExecutorSize) {
  const std::size_t expected =
      std::min<std::size_t>(32, std::thread::hardware_concurrency() + std::size_t{4});
  EXPECT_EQ(default_thread_pool().size(), expected);
  EXPECT_EQ(&default_thread_pool(), &default_thread_pool());
}

TEST(DefaultThreadPool, CannotBeResizedAfterItsFirstUse) {
  (void)default_thread_pool();
  EXPECT_THROW(set_default_thread_pool_size(4), Error);
}

TEST(DefaultThreadPool, RefusesASizeOfZero) {
  EXPECT_THROW(set_default_thread_pool_size(0), Error);
}

}  // namespace
}  // namespace loopscope
