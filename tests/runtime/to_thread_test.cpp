#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::ms_since_start;
using testing::run_manual;
using testing::WarningRecorder;

// Runs each job inside submit(), on the awaiting loop's own thread.
struct InlineExecutor {
  template <class F>
  void submit(F&& job) {
    job();
  }
};

// Destroys every job without running it.
struct DroppingExecutor {
  template <class F>
  void submit(F&& job) {
    [[maybe_unused]] auto dropped = std::forward<F>(job);
  }
};

// Refuses every job.
struct RefusingExecutor {
  template <class F>
  void submit(F&& /*job*/) {
    throw std::runtime_error("executor is shut down");
  }
};

static_assert(Executor<ThreadPool>);
static_assert(Executor<InlineExecutor>);
static_assert(!Executor<int>);

// Awaits a job that blocks until `release` opens, then returns `token`.
template <Executor E>
Task<void> await_blocked_job(E* executor, std::shared_ptr<std::latch> release,
                             std::shared_ptr<int> token) {
  auto job = [](const std::shared_ptr<std::latch>& r, std::shared_ptr<int> t) {
    r->wait();
    return t;
  };
  co_await run_in_executor(*executor, job, std::move(release), std::move(token));
}

TEST(ToThread, ReturnsTheResultToTheAwaitingTaskOnTheLoopThread) {
  const auto loop_thread = std::this_thread::get_id();
  auto amain = [](std::thread::id loop) -> Task<int> {
    std::thread::id job_thread;
    const int sum = co_await to_thread(
        [&job_thread](int a, int b) {
          job_thread = std::this_thread::get_id();
          return a + b;
        },
        40, 2);
    EXPECT_NE(job_thread, loop);
    EXPECT_EQ(std::this_thread::get_id(), loop);
    co_return sum;
  };
  EXPECT_EQ(run_manual(amain(loop_thread)), 42);
}

TEST(ToThread, RethrowsTheJobsExceptionInTheAwaitingTaskOnTheLoopThread) {
  const auto loop_thread = std::this_thread::get_id();
  auto amain = [](std::thread::id loop) -> Task<std::string> {
    try {
      co_await to_thread([]() -> int { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::this_thread::get_id(), loop);
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(run_manual(amain(loop_thread)), "disk on fire");
}

TEST(ToThread, RunsJobsOnTheDefaultPoolsNamedWorkers) {
  auto amain = []() -> Task<std::string> {
    co_return co_await to_thread([] {
      std::array<char, 16> name{};
      pthread_getname_np(pthread_self(), name.data(), name.size());
      return std::string(name.data());
    });
  };
  EXPECT_EQ(run_manual(amain()), "loopscope-pool");
}

Task<void> tick_then_release(std::latch* release, int* ticks) {
  for (int i = 0; i < 5; ++i) {
    co_await sleep(0s);
    ++*ticks;
  }
  release->count_down();
}

TEST(ToThread, KeepsTheLoopRunningOtherTasksWhileAJobBlocks) {
  auto amain = []() -> Task<int> {
    std::latch release(1);
    int ticks = 0;
    auto ticker = spawn(tick_then_release(&release, &ticks));
    // The job can only return once the ticker has ticked five times on the loop.
    co_await to_thread([](std::latch& r) { r.wait(); }, std::ref(release));
    co_await ticker;
    co_return ticks;
  };
  EXPECT_EQ(run_manual(amain()), 5);
}

Task<void> sleep_for_an_hour() {
  co_await sleep(1h);
}

TEST(ToThread, AVirtualClockDoesNotJumpAheadWhileAJobIsInFlight) {
  ManualClock clock;
  auto amain = [](ManualClock* c) -> Task<long long> {
    auto sleeper = spawn(sleep_for_an_hour());
    co_await to_thread([] { return 0; });
    const long long elapsed = ms_since_start(*c);
    co_await sleeper;  // and once it is back, the clock jumps again
    EXPECT_EQ(ms_since_start(*c), 3'600'000);
    co_return elapsed;
  };
  EXPECT_EQ(run_manual(amain(&clock), clock), 0);
}

TEST(ToThread, CancellingTheAwaitingTaskReturnsAtOnceWithCancelledError) {
  auto amain = []() -> Task<void> {
    ThreadPool pool(1);
    auto release = std::make_shared<std::latch>(1);
    auto token = std::make_shared<int>(7);
    std::weak_ptr<int> watch = token;
    auto waiter = spawn(await_blocked_job(&pool, release, std::move(token)));
    co_await sleep(0s);  // the waiter submits its job and suspends
    waiter.cancel();
    EXPECT_THROW(co_await waiter, CancelledError);
    EXPECT_FALSE(watch.expired());  // the job is still blocked: nobody waited for it
    release->count_down();
    // One worker: this job runs after the abandoned one and posts back after it.
    EXPECT_EQ(co_await run_in_executor(pool, [] { return 1; }), 1);
    EXPECT_TRUE(watch.expired());  // the abandoned result was dropped on the loop
  };
  run_manual(amain());
}

Task<void> await_failing_job(ThreadPool* pool, std::shared_ptr<std::latch> release) {
  co_await run_in_executor(
      *pool,
      [](const std::shared_ptr<std::latch>& r) {
        r->wait();
        throw std::runtime_error("nobody listens");
      },
      std::move(release));
}

TEST(ToThread, TheExceptionOfAnAbandonedJobIsDroppedQuietly) {
  const WarningRecorder warnings;
  auto amain = []() -> Task<void> {
    ThreadPool pool(1);
    auto release = std::make_shared<std::latch>(1);
    auto waiter = spawn(await_failing_job(&pool, release));
    co_await sleep(0s);
    waiter.cancel();
    EXPECT_THROW(co_await waiter, CancelledError);
    release->count_down();
    EXPECT_EQ(co_await run_in_executor(pool, [] { return 2; }), 2);
  };
  run_manual(amain());
  EXPECT_TRUE(warnings.all().empty());
}

TEST(ToThread, RunWaitsForTheJobsOfItsLoopStillRunningBeforeItReturns) {
  auto release = std::make_shared<std::latch>(1);
  auto token = std::make_shared<int>(7);
  const std::weak_ptr<int> watch = token;
  auto amain = [](std::shared_ptr<std::latch> r, std::shared_ptr<int> t) -> Task<void> {
    auto waiter = spawn(await_blocked_job(&default_thread_pool(), r, std::move(t)));
    co_await sleep(0s);
    waiter.cancel();
    EXPECT_THROW(co_await waiter, CancelledError);
    r->count_down();  // the job ends after main has returned
  };
  run_manual(amain(release, std::move(token)));
  EXPECT_TRUE(watch.expired());  // its completion ran on the loop before the loop went away
}

Task<int> square_on_a_thread(int i) {
  co_return co_await to_thread([](int x) { return x * x; }, i);
}

TEST(ToThread, AThousandConcurrentCallsAllCompleteWithTheirOwnValues) {
  auto amain = []() -> Task<std::vector<int>> {
    std::vector<Task<int>> calls;
    calls.reserve(1000);
    for (int i = 0; i < 1000; ++i) {
      calls.push_back(square_on_a_thread(i));
    }
    co_return co_await gather(std::move(calls));
  };
  const std::vector<int> squares = run_manual(amain());
  ASSERT_EQ(squares.size(), 1000U);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(squares[i], i * i);
  }
}

struct Concurrency {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::barrier<> pair{2};
};

Task<void> paired_job(ThreadPool* pool, Concurrency* c) {
  co_await run_in_executor(*pool, [c] {
    const int now = c->running.fetch_add(1) + 1;
    int seen = c->most.load();
    while (now > seen && !c->most.compare_exchange_weak(seen, now)) {
    }
    c->pair.arrive_and_wait();  // waits for a partner: two jobs always overlap
    c->running.fetch_sub(1);
  });
}

TEST(RunInExecutor, APoolOfTwoRunsAtMostTwoJobsAtOnce) {
  auto amain = []() -> Task<int> {
    ThreadPool pool(2);
    Concurrency concurrency;
    std::vector<Task<void>> jobs;
    jobs.reserve(10);
    for (int i = 0; i < 10; ++i) {
      jobs.push_back(paired_job(&pool, &concurrency));
    }
    co_await gather(std::move(jobs));
    co_return concurrency.most.load();
  };
  EXPECT_EQ(run_manual(amain()), 2);
}

TEST(ToThread, MoveOnlyArgumentsAndResultsWork) {
  auto amain = []() -> Task<int> {
    auto in = std::make_unique<int>(20);
    std::unique_ptr<int> out = co_await to_thread(
        [](std::unique_ptr<int> v) {
          *v += 1;
          return v;
        },
        std::move(in));
    // WORKAROUND(gcc-12, https://github.com/chriskohlhoff/asio/issues/858): a closure that
    // owns move-captured state is destroyed twice when it is a temporary inside the co_await
    // expression, so it is named first.
    auto read_owned = [p = std::make_unique<int>(100)] { return *p; };
    const int moved_fn = co_await to_thread(std::move(read_owned));
    co_return *out + moved_fn;
  };
  EXPECT_EQ(run_manual(amain()), 121);
}

TEST(ToThread, CopiesItsArgumentsWhenCalledUnlessWrappedInARef) {
  auto amain = []() -> Task<std::string> {
    std::string text = "before";
    auto job = to_thread([](const std::string& s) { return s; }, text);
    text = "after";
    std::string seen = co_await job;
    int counter = 0;
    co_await to_thread([](int& c) { c = 5; }, std::ref(counter));
    co_return seen + std::to_string(counter);
  };
  EXPECT_EQ(run_manual(amain()), "before5");
}

Task<void> cancel_self_then_await_job(TaskHandle<void>* self, ThreadPool* pool,
                                      std::atomic<bool>* ran) {
  self->cancel();  // running: delivered at the next suspension point
  co_await run_in_executor(*pool, [ran] { ran->store(true); });
}

TEST(ToThread, APendingCancellationThrowsWithoutSubmittingTheJob) {
  auto amain = []() -> Task<bool> {
    ThreadPool pool(1);
    std::atomic<bool> ran{false};
    TaskHandle<void> handle;
    handle = spawn(cancel_self_then_await_job(&handle, &pool, &ran));
    EXPECT_THROW(co_await handle, CancelledError);
    co_await run_in_executor(pool, [] {});  // FIFO: the job would have run before this one
    co_return ran.load();
  };
  EXPECT_FALSE(run_manual(amain()));
}

TEST(ToThread, WorksInsideTimeout) {
  auto amain = []() -> Task<int> { co_return co_await timeout(1h, to_thread([] { return 3; })); };
  EXPECT_EQ(run_manual(amain()), 3);
}

TEST(RunInExecutor, AcceptsAUserExecutorThatRunsJobsInline) {
  const auto loop_thread = std::this_thread::get_id();
  auto amain = [](std::thread::id loop) -> Task<bool> {
    InlineExecutor executor;
    const auto job_thread =
        co_await run_in_executor(executor, [] { return std::this_thread::get_id(); });
    co_return job_thread == loop;
  };
  EXPECT_TRUE(run_manual(amain(loop_thread)));
}

TEST(RunInExecutor, AJobDestroyedUnrunByItsExecutorThrowsError) {
  auto amain = []() -> Task<void> {
    DroppingExecutor executor;
    EXPECT_THROW(co_await run_in_executor(executor, [] { return 1; }), Error);
  };
  run_manual(amain());
}

TEST(RunInExecutor, AnExceptionFromSubmitComesOutOfTheAwait) {
  auto amain = []() -> Task<int> {
    RefusingExecutor executor;
    EXPECT_THROW(co_await run_in_executor(executor, [] { return 1; }), std::runtime_error);
    co_await sleep(1ms);  // the loop is not left waiting for the refused job
    co_return 1;
  };
  EXPECT_EQ(run_manual(amain()), 1);
}

}  // namespace
}  // namespace loopscope
