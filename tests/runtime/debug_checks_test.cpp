// The task checks that only debug mode makes: swallowed_cancellation, unbounded_fanout and
// generator_closed_by_cancellation. Each fires on its mistake, naming the function and file,
// stays quiet on the correct programs that come closest to it, and never runs without debug
// mode.

#include "debug_test_support.hpp"
#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <latch>
#include <stdexcept>
#include <string>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::has_frame;
using testing::run_debug;
using testing::WarningRecorder;

// ---- swallowed_cancellation ----

Task<int> swallows_its_cancellation() {
  try {
    co_await sleep(1h);
  } catch (const CancelledError&) {  // NOLINT(bugprone-empty-catch): the mistake under test
  }
  co_return 1;
}

Task<int> cancels_a_swallower() {
  auto h = spawn(swallows_its_cancellation(), "worker");
  co_await sleep(1ms);
  h.cancel();
  co_return co_await h;
}

TEST(DebugChecks, ACancelledTaskThatReturnsNormallyIsReported) {
  WarningRecorder warnings{WarningKind::kSwallowedCancellation};
  EXPECT_EQ(run_debug(cancels_a_swallower()), 1);
  ASSERT_EQ(warnings.count(WarningKind::kSwallowedCancellation), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_EQ(
      finding.message,
      "task 'worker' (coroutine loopscope::(anonymous namespace)::swallows_its_cancellation())"
      " was cancelled but finished normally: CancelledError was caught and not re-raised");
  EXPECT_TRUE(has_frame(finding, "swallows_its_cancellation()"));
  EXPECT_TRUE(has_frame(finding, "cancels_a_swallower()"));
}

TEST(DebugChecks, WithoutDebugModeASwallowedCancellationIsNotReported) {
  testing::unset_debug_environment();
  WarningRecorder warnings;
  EXPECT_EQ(testing::run_manual(cancels_a_swallower()), 1);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, ATimeoutIsNotASwallowedCancellation) {
  WarningRecorder warnings;
  auto amain = []() -> Task<int> {
    try {
      co_await timeout(10ms, sleep(1h));
    } catch (const TimeoutError&) {
      co_return 1;  // timeout() withdrew its cancellation (uncancel)
    }
    co_return 0;
  };
  EXPECT_EQ(run_debug(amain()), 1);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, AnUncancelledTaskIsNotASwallowedCancellation) {
  WarningRecorder warnings;
  auto worker = [](TaskHandle<int>* self) -> Task<int> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      self->uncancel();  // handled on purpose, and said so
    }
    co_return 1;
  };
  auto amain = [](decltype(worker) w) -> Task<int> {
    TaskHandle<int> h;
    h = spawn(w(&h));
    co_await sleep(1ms);
    h.cancel();
    co_return co_await h;
  };
  EXPECT_EQ(run_debug(amain(worker)), 1);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, ACancellationThatNeverReachedTheTaskIsNotASwallowedOne) {
  WarningRecorder warnings;
  // The task cancels itself and returns without suspending again: the CancelledError was
  // never delivered, so nothing was swallowed.
  auto worker = [](TaskHandle<int>* self) -> Task<int> {
    co_await sleep(1ms);
    self->cancel();
    co_return 1;
  };
  auto amain = [](decltype(worker) w) -> Task<int> {
    TaskHandle<int> h;
    h = spawn(w(&h));
    co_return co_await shield(h);
  };
  EXPECT_EQ(run_debug(amain(worker)), 1);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, ATaskCancelledBeforeItsFirstStepIsNotReported) {
  WarningRecorder warnings;
  auto amain = []() -> Task<bool> {
    auto h = spawn(swallows_its_cancellation());
    h.cancel();  // it never runs: CancelledError at its first step
    try {
      co_await h;
    } catch (const CancelledError&) {
      co_return h.cancelled();
    }
    co_return false;
  };
  EXPECT_TRUE(run_debug(amain()));
  EXPECT_TRUE(warnings.all().empty());
}

Task<void> pause(std::chrono::milliseconds d) {
  co_await sleep(d);
}

Task<int> fails_soon() {
  co_await sleep(1ms);
  throw std::runtime_error("boom");
}

Task<void> awaits_shielded(TaskHandle<void> h) {
  co_await shield(std::move(h));
}

TEST(DebugChecks, CancellationsOfATaskGroupAndOfShieldAreNotSwallowed) {
  WarningRecorder warnings;
  auto amain = []() -> Task<int> {
    auto inner = spawn(pause(5ms));
    auto outer = spawn(awaits_shielded(inner));
    TaskGroup tg;
    (void)tg.spawn(pause(1h));
    (void)tg.spawn(fails_soon());
    int failures = 0;
    try {
      co_await tg.join();
    } catch (const TaskGroupError& e) {
      failures = static_cast<int>(e.exceptions().size());
    }
    outer.cancel();
    EXPECT_THROW(co_await outer, CancelledError);
    co_await inner;
    co_return failures;
  };
  EXPECT_EQ(run_debug(amain()), 1);
  EXPECT_TRUE(warnings.all().empty());
}

// ---- generator_closed_by_cancellation ----

AsyncGenerator<int> slow_stream() {
  co_yield 1;
  co_await sleep(1h);
  co_yield 2;
}

Task<int> reads_with_a_timeout_around_next() {
  auto stream = slow_stream();
  int got = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      if (auto v = co_await timeout(10ms, stream.next())) {
        got += *v;
      } else {
        break;  // the stream looks finished
      }
    } catch (const TimeoutError&) {  // NOLINT(bugprone-empty-catch): the mistake under test
    }
  }
  co_return got;
}

TEST(DebugChecks, ATimeoutAroundNextIsReportedWhenTheConsumerAsksForMore) {
  WarningRecorder warnings{WarningKind::kGeneratorClosedByCancellation};
  EXPECT_EQ(run_debug(reads_with_a_timeout_around_next()), 1);  // 2 never arrives
  ASSERT_EQ(warnings.count(WarningKind::kGeneratorClosedByCancellation), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_EQ(finding.message,
            "async generator loopscope::(anonymous namespace)::slow_stream() was closed while "
            "suspended because its consumer was cancelled (timeout around next()): the rest of "
            "the stream is lost");
  EXPECT_TRUE(has_frame(finding, "slow_stream()"));
  EXPECT_TRUE(has_frame(finding, "reads_with_a_timeout_around_next()"));
}

TEST(DebugChecks, WithoutDebugModeATimeoutAroundNextIsNotReported) {
  testing::unset_debug_environment();
  WarningRecorder warnings;
  EXPECT_EQ(testing::run_manual(reads_with_a_timeout_around_next()), 1);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, AGeneratorOfACancelledConsumerIsNotReported) {
  WarningRecorder warnings;
  auto consumer = []() -> Task<int> {
    auto stream = slow_stream();
    int got = 0;
    while (auto v = co_await stream.next()) {
      got += *v;
    }
    co_return got;
  };
  auto amain = [](decltype(consumer) c) -> Task<bool> {
    auto h = spawn(c());
    co_await sleep(1ms);
    h.cancel();  // the consumer ends too: nobody is left wanting the stream
    EXPECT_THROW(co_await h, CancelledError);
    co_return h.cancelled();
  };
  EXPECT_TRUE(run_debug(amain(consumer)));
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, AGeneratorLeftEarlyOrClosedOnPurposeIsNotReported) {
  WarningRecorder warnings;
  auto amain = []() -> Task<int> {
    int got = 0;
    {
      auto stream = slow_stream();
      got += *co_await stream.next();  // and leaves it suspended at its co_yield
    }
    auto stream = slow_stream();
    co_await stream.next();
    bool timed_out = false;
    try {
      co_await timeout(10ms, stream.next());
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    if (timed_out) {
      co_await stream.aclose();  // giving up on the stream is a decision, not a loss
    }
    co_return got;
  };
  EXPECT_EQ(run_debug(amain()), 1);
  EXPECT_TRUE(warnings.all().empty());
}

// ---- unbounded_fanout ----

Task<void> waits_for(Event* event) {
  co_await event->wait();
}

Task<void> spawns_without_bound(int n) {
  Event go;
  std::vector<TaskHandle<void>> handles;
  for (int i = 0; i < n; ++i) {
    handles.push_back(spawn(waits_for(&go)));  // the spawn site under test
  }
  go.set();
  co_await gather(std::move(handles));
}

TEST(DebugChecks, TooManyLiveTasksFromOneSpawnSiteAreReportedOnce) {
  WarningRecorder warnings{WarningKind::kUnboundedFanout};
  Options options;
  options.fanout_limit = 10;
  run_debug(spawns_without_bound(25), options);
  ASSERT_EQ(warnings.count(WarningKind::kUnboundedFanout), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_EQ(finding.message.find("11 live tasks spawned at "), 0U) << finding.message;
  EXPECT_NE(finding.message.find("debug_checks_test.cpp:"), std::string::npos);
  EXPECT_NE(finding.message.find("(coroutine loopscope::(anonymous namespace)::waits_for("),
            std::string::npos);
  EXPECT_NE(finding.message.find("bound the fan-out with a Semaphore"), std::string::npos);
  EXPECT_TRUE(has_frame(finding, "waits_for("));
  EXPECT_TRUE(has_frame(finding, "spawns_without_bound(int)"));
}

TEST(DebugChecks, FinishedTasksDoNotCountTowardsTheFanoutLimit) {
  WarningRecorder warnings;
  auto amain = []() -> Task<void> {
    for (int round = 0; round < 5; ++round) {
      co_await spawns_without_bound(8);  // 40 in all, never more than 8 alive
    }
  };
  Options options;
  options.fanout_limit = 10;
  run_debug(amain(), options);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, TheFanoutLimitComesFromTheEnvironment) {
  setenv("LOOPSCOPE_FANOUT_LIMIT", "5", 1);  // NOLINT(concurrency-mt-unsafe): restored by the guard
  WarningRecorder warnings{WarningKind::kUnboundedFanout};
  run_debug(spawns_without_bound(6));
  ASSERT_EQ(warnings.count(WarningKind::kUnboundedFanout), 1);
  EXPECT_EQ(warnings.all().at(0).message.find("6 live tasks"), 0U);
}

TEST(DebugChecks, WithoutDebugModeFanoutIsNotCounted) {
  testing::unset_debug_environment();
  WarningRecorder warnings;
  Options options;
  options.fanout_limit = 10;
  ManualClock clock;
  options.clock = &clock;
  run(spawns_without_bound(25), options);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(DebugChecks, WithoutDebugModeLoopscopeDebugZeroLeavesTheChecksOff) {
  setenv("LOOPSCOPE_DEBUG", "0", 1);  // NOLINT(concurrency-mt-unsafe): restored by the guard
  WarningRecorder warnings;
  auto amain = []() -> Task<int> {
    EXPECT_FALSE(current_loop().debug());
    co_return co_await cancels_a_swallower();
  };
  EXPECT_EQ(testing::run_manual(amain()), 1);
  EXPECT_TRUE(warnings.all().empty());
}

// ---- wrong_loop: a task of one loop awaited, or waited for, from another loop ----

Task<void> held_until(Event* release) {
  co_await release->wait();
}

// Runs on a worker thread's own loop: awaits the main loop's task.
Task<int> awaits_from_another_loop(TaskHandle<void>* theirs) {
  co_await *theirs;
  co_return 0;
}

// Runs on a worker thread's own loop: waits for the main loop's task with wait().
Task<int> waits_from_another_loop(TaskHandle<void>* theirs) {
  std::vector<TaskHandle<void>> handles;
  handles.push_back(*theirs);
  co_await wait(std::move(handles));
  co_return 0;
}

// The main loop: lends its task to a loop on a worker thread, which must refuse it.
Task<std::string> lends_a_task(Task<int> (*borrower)(TaskHandle<void>*)) {
  Event release;
  TaskHandle<void> mine = spawn(held_until(&release));
  // The worker touches `mine` (its reference count) only once this step is over, after
  // which the loop thread leaves it alone until the job is done.
  std::latch step_over{1};
  current_loop().call_soon([&step_over] { step_over.count_down(); });
  auto on_worker = [&mine, &step_over, borrower]() -> std::string {
    step_over.wait();
    try {
      run(borrower(&mine));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string error = co_await to_thread(on_worker);
  release.set();
  co_await mine;  // on its own loop: fine
  co_return error;
}

TEST(DebugChecks, AwaitingATaskOfAnotherLoopIsReportedAndRefused) {
  WarningRecorder warnings{WarningKind::kWrongLoop};
  const std::string error = run_debug(lends_a_task(&awaits_from_another_loop));
  EXPECT_NE(error.find("belongs to another event loop"), std::string::npos) << error;
  ASSERT_EQ(warnings.count(WarningKind::kWrongLoop), 1);
  EXPECT_TRUE(has_frame(warnings.all().at(0), "awaits_from_another_loop"));
}

TEST(DebugChecks, WaitingForATaskOfAnotherLoopIsReportedAndRefused) {
  WarningRecorder warnings{WarningKind::kWrongLoop};
  const std::string error = run_debug(lends_a_task(&waits_from_another_loop));
  EXPECT_NE(error.find("of another event loop"), std::string::npos) << error;
  ASSERT_EQ(warnings.count(WarningKind::kWrongLoop), 1);
  EXPECT_TRUE(has_frame(warnings.all().at(0), "waits_from_another_loop"));
}

}  // namespace
}  // namespace loopscope
