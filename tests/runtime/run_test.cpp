#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::run_manual;
using testing::WarningRecorder;

TEST(Run, ReturnsTheValueOfTheMainTask) {
  auto amain = []() -> Task<std::string> { co_return "done"; };
  EXPECT_EQ(run_manual(amain()), "done");
}

TEST(Run, RethrowsTheExceptionOfTheMainTask) {
  auto amain = []() -> Task<void> {
    co_await sleep(1ms);
    throw std::logic_error("main failed");
  };
  EXPECT_THROW(run_manual(amain()), std::logic_error);
}

TEST(Run, NestedRunIsRefused) {
  WarningRecorder warnings;
  auto inner = []() -> Task<int> { co_return 1; };
  auto amain = [](decltype(inner) i) -> Task<std::string> {
    try {
      (void)run(i());
    } catch (const Error& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_NE(run_manual(amain(inner)).find("cannot be called from a running event loop"),
            std::string::npos);
  EXPECT_EQ(warnings.count(WarningKind::kNestedRun), 1);
}

TEST(Run, CancelsAndDrainsTasksStillPendingAtTheEnd) {
  auto straggler = [](int* cleaned) -> Task<void> {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {
      ++*cleaned;
      throw;
    }
  };
  int cleaned = 0;
  auto amain = [](decltype(straggler) s, int* c) -> Task<void> {
    for (int i = 0; i < 3; ++i) {
      (void)spawn(s(c));
    }
    co_await sleep(1ms);
  };
  ManualClock clock;
  run_manual(amain(straggler, &cleaned), clock);
  EXPECT_EQ(cleaned, 3);
  EXPECT_EQ(testing::ms_since_start(clock), 1);  // cancelled, not waited for
}

TEST(Run, ATaskThatIgnoresCancellationForeverIsDestroyedAndReported) {
  WarningRecorder warnings;
  auto stubborn = []() -> Task<void> {
    for (;;) {
      try {
        co_await sleep(1h);
      } catch (const CancelledError&) {  // NOLINT(bugprone-empty-catch): the mistake under test
      }
    }
  };
  auto amain = [](decltype(stubborn) s) -> Task<void> {
    (void)spawn(s());
    co_await sleep(0ms);
  };
  run_manual(amain(stubborn));
  EXPECT_EQ(warnings.count(WarningKind::kDestroyedPending), 1);
}

TEST(Run, SequentialRunsOnOneThreadAreIndependent) {
  auto amain = []() -> Task<int> {
    co_await sleep(1ms);
    co_return 1;
  };
  EXPECT_EQ(run_manual(amain()) + run_manual(amain()), 2);
}

TEST(Options, DebugFlagAcceptsOnlyExplicitYes) {
  EXPECT_TRUE(env_flag_enabled("1"));
  EXPECT_TRUE(env_flag_enabled("true"));
  EXPECT_TRUE(env_flag_enabled("YES"));
  EXPECT_FALSE(env_flag_enabled("0"));
  EXPECT_FALSE(env_flag_enabled("false"));
  EXPECT_FALSE(env_flag_enabled(""));
  EXPECT_FALSE(env_flag_enabled(nullptr));
}

TEST(Options, EnvironmentOverridesTheProgrammaticSettings) {
  setenv("LOOPSCOPE_DEBUG", "0", 1);
  setenv("LOOPSCOPE_SLOW_CALLBACK_MS", "250", 1);
  setenv("LOOPSCOPE_TRACE", "/tmp/x.lstrace", 1);
  Options options = apply_environment({});
  EXPECT_FALSE(options.debug);
  EXPECT_EQ(options.slow_callback_duration, 250ms);
  EXPECT_EQ(options.trace_path, "/tmp/x.lstrace");
  setenv("LOOPSCOPE_DEBUG", "1", 1);
  EXPECT_TRUE(apply_environment({}).debug);
  unsetenv("LOOPSCOPE_DEBUG");
  unsetenv("LOOPSCOPE_SLOW_CALLBACK_MS");
  unsetenv("LOOPSCOPE_TRACE");
}

}  // namespace
}  // namespace loopscope
