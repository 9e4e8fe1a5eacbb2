// Debug mode's slow_callback check: a task step or callback that holds the loop longer than
// Options::slow_callback_duration is reported when it ends. Steps are timed with a manual
// step clock (detail::set_debug_step_clock), so a step "takes" exactly what the test
// advances that clock by.

#include "test_support.hpp"
#include <loopscope/detail/debug_hooks.hpp>
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::WarningRecorder;

// Times the steps of the loops created while it exists.
struct ManualStepClock {
  ManualStepClock() { detail::set_debug_step_clock(&clock); }
  ManualStepClock(const ManualStepClock&) = delete;
  ManualStepClock& operator=(const ManualStepClock&) = delete;
  ManualStepClock(ManualStepClock&&) = delete;
  ManualStepClock& operator=(ManualStepClock&&) = delete;
  ~ManualStepClock() { detail::set_debug_step_clock(nullptr); }
  ManualClock clock;
};

// A debug loop on a manual loop clock; stalls are left out (the steps do not really block).
template <class T>
T run_debug(Task<T> main, bool debug = true) {
  ManualClock clock;
  Options options;
  options.debug = debug;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  options.clock = &clock;
  options.stall_duration = 1h;
  return run(std::move(main), options);
}

std::vector<Warning> slow_findings(const WarningRecorder& warnings) {
  std::vector<Warning> found;
  for (const Warning& w : warnings.all()) {
    if (w.kind == WarningKind::kSlowCallback) {
      found.push_back(w);
    }
  }
  return found;
}

bool has_frame_in_this_file(const Warning& warning) {
  for (const StackFrame& frame : warning.frames) {
    if (frame.file.find("slow_callback_test.cpp") != std::string::npos) {
      return true;
    }
  }
  return false;
}

Task<void> crunch_numbers(ManualClock* step_clock, std::chrono::milliseconds took) {
  step_clock->advance(took);
  co_return;
}

Task<void> spawn_and_await(ManualClock* step_clock, std::chrono::milliseconds took) {
  co_await spawn(crunch_numbers(step_clock, took));
}

TEST(SlowCallback, ATaskStepLongerThanTheThresholdIsReportedWithTaskCoroutineAndDuration) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  run_debug(spawn_and_await(&step.clock, 153ms));
  const std::vector<Warning> found = slow_findings(warnings);
  ASSERT_EQ(found.size(), 1U);
  const std::string& message = found[0].message;
  EXPECT_EQ(message.rfind("task 'Task-2' (coroutine ", 0), 0U) << message;
  EXPECT_NE(message.find("crunch_numbers"), std::string::npos) << message;
  EXPECT_NE(message.find(") held the loop for 153 ms"), std::string::npos) << message;
  EXPECT_TRUE(has_frame_in_this_file(found[0]));
}

TEST(SlowCallback, ACallbackLongerThanTheThresholdIsReportedWithItsType) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  auto amain = [](ManualClock* step_clock) -> Task<void> {
    current_loop().call_soon([step_clock] { step_clock->advance(120ms); });
    co_await sleep(1ms);
  };
  run_debug(amain(&step.clock));
  const std::vector<Warning> found = slow_findings(warnings);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].message.rfind("callback '", 0), 0U) << found[0].message;
  EXPECT_NE(found[0].message.find("lambda"), std::string::npos) << found[0].message;
  EXPECT_NE(found[0].message.find("' held the loop for 120 ms"), std::string::npos);
}

TEST(SlowCallback, AStepOfExactlyTheThresholdIsNotReported) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  run_debug(spawn_and_await(&step.clock, 100ms));
  EXPECT_EQ(warnings.count(WarningKind::kSlowCallback), 0);
}

TEST(SlowCallback, TheThresholdIsSlowCallbackDuration) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  ManualClock clock;
  Options options;
  options.debug = true;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  options.clock = &clock;
  options.stall_duration = 1h;
  options.slow_callback_duration = 10ms;
  run(spawn_and_await(&step.clock, 20ms), options);
  const std::vector<Warning> found = slow_findings(warnings);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_NE(found[0].message.find("held the loop for 20 ms"), std::string::npos);
}

Task<void> slow_three_times(ManualClock* step_clock) {
  for (int i = 0; i < 3; ++i) {
    step_clock->advance(200ms);
    co_await sleep(0s);
  }
}

TEST(SlowCallback, ACoroutineIsReportedOnceHoweverManyOfItsStepsAreSlow) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  auto amain = [](ManualClock* step_clock) -> Task<void> {
    auto a = spawn(slow_three_times(step_clock));
    auto b = spawn(slow_three_times(step_clock));
    co_await a;
    co_await b;
  };
  run_debug(amain(&step.clock));
  EXPECT_EQ(warnings.count(WarningKind::kSlowCallback), 1);
}

TEST(SlowCallback, ATaskThatFinishesInItsSlowStepIsStillNamed) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  auto amain = [](ManualClock* step_clock) -> Task<void> {
    spawn(crunch_numbers(step_clock, 300ms), "cruncher");  // nobody keeps its handle
    co_await sleep(1ms);
  };
  run_debug(amain(&step.clock));
  const std::vector<Warning> found = slow_findings(warnings);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].message.rfind("task 'cruncher' (coroutine ", 0), 0U) << found[0].message;
}

TEST(SlowCallback, WithoutDebugModeASlowStepIsNotReported) {
  ManualStepClock step;
  const WarningRecorder warnings{WarningKind::kSlowCallback};
  run_debug(spawn_and_await(&step.clock, 500ms), /*debug=*/false);
  EXPECT_EQ(warnings.count(WarningKind::kSlowCallback), 0);
}

}  // namespace
}  // namespace loopscope
