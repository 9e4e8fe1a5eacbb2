// Debug mode and a trace together: the loop's debug step path records every step the traced
// path records (the same events for the same program), and the findings go into the trace
// as warnings with their frames.
#include "test_support.hpp"
#include <loopscope/detail/debug_hooks.hpp>
#include <loopscope/loopscope.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
namespace format = probes::format;

// The step events of each task, in order, and the warnings.
class StepLog final : public viewer::TraceVisitor {
 public:
  std::map<std::uint32_t, std::vector<probes::EventKind>> steps;
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> first_resumed_last_ended;
  std::vector<format::WarningRecord> warnings;

  void on_events(std::uint32_t /*thread*/, std::span<const format::Record> batch) override {
    for (const format::Record& r : batch) {
      if (r.kind == probes::EventKind::kTaskResumed) {
        first_resumed_last_ended.try_emplace(r.task, r.ticks, r.ticks);
      } else if (r.kind == probes::EventKind::kTaskSuspended ||
                 r.kind == probes::EventKind::kTaskFinished) {
        first_resumed_last_ended[r.task].second = r.ticks;
      }
      switch (r.kind) {
        case probes::EventKind::kTaskCreated:
        case probes::EventKind::kTaskResumed:
        case probes::EventKind::kTaskSuspended:
        case probes::EventKind::kTaskFinished:
        case probes::EventKind::kCallbackBegin:
        case probes::EventKind::kCallbackEnd:
          steps[r.task].push_back(r.kind);
          break;
        default:
          break;
      }
    }
  }
  void on_warning(const format::WarningRecord& warning) override { warnings.push_back(warning); }
};

Task<int> leaf(int i, ManualClock* step_clock) {
  co_await sleep(1ms);
  if (i == 1) {
    step_clock->advance(150ms);  // a slow step, in debug mode's eyes
  }
  co_await sleep(0ms);
  co_return i;
}

Task<int> program(ManualClock* step_clock) {
  auto a = spawn(leaf(0, step_clock));
  auto b = spawn(leaf(1, step_clock));
  current_loop().call_soon([] {});
  co_return co_await a + co_await b;
}

StepLog run_traced(bool debug) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("loopscope_debug_trace_" + std::to_string(::getpid()) +
                                      (debug ? "_debug" : "") + ".lstrace");
  ManualClock step_clock;
  detail::set_debug_step_clock(&step_clock);
  ManualClock clock;
  Options options;
  options.clock = &clock;
  options.trace_path = path.string();
  options.debug = debug;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  EXPECT_EQ(run(program(&step_clock), options), 1);
  detail::set_debug_step_clock(nullptr);
  StepLog log;
  viewer::TraceReader reader(path);
  EXPECT_TRUE(reader.read(log).complete);
  std::filesystem::remove(path);
  return log;
}

TEST(DebugTrace, DebugModeRecordsTheSameStepsAsTheTracedPathAndItsFindings) {
  const testing::WarningRecorder findings{WarningKind::kSlowCallback};
  const StepLog plain = run_traced(false);
  const StepLog debug = run_traced(true);
  EXPECT_EQ(debug.steps, plain.steps);
  EXPECT_EQ(plain.steps.size(), 4U);  // three tasks and the callback (task 0)
  EXPECT_TRUE(plain.warnings.empty());
  ASSERT_EQ(debug.warnings.size(), 1U);
  EXPECT_EQ(debug.warnings[0].kind, static_cast<std::uint8_t>(WarningKind::kSlowCallback));
  EXPECT_EQ(debug.warnings[0].task, 3U);
  EXPECT_FALSE(debug.warnings[0].frames.empty());
  EXPECT_EQ(findings.count(WarningKind::kSlowCallback), 1);
}

Task<int> nap_in_a_task() {
  co_return usleep(1);  // a blocking_call finding, reported from another thread
}

TEST(DebugTrace, AFindingReportedOffTheLoopThreadIsInTheTraceWithItsTaskAndFrames) {
  const testing::WarningRecorder findings{WarningKind::kBlockingCall};
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("loopscope_debug_trace_blocking_" + std::to_string(::getpid()) + ".lstrace");
  ManualClock clock;
  Options options;
  options.clock = &clock;
  options.trace_path = path.string();
  options.debug = true;
  options.lag_sample_interval = 0ms;
  EXPECT_EQ(run(nap_in_a_task(), options), 0);
  StepLog log;
  viewer::TraceReader reader(path);
  EXPECT_TRUE(reader.read(log).complete);
  std::filesystem::remove(path);
  ASSERT_EQ(log.warnings.size(), 1U);
  EXPECT_EQ(log.warnings[0].kind, static_cast<std::uint8_t>(WarningKind::kBlockingCall));
  EXPECT_EQ(log.warnings[0].task, 1U);
  EXPECT_FALSE(log.warnings[0].frames.empty());
  // At the time of the call, inside the task's one step, not when it was printed.
  ASSERT_EQ(log.first_resumed_last_ended.count(1), 1U);
  const auto [resumed, finished] = log.first_resumed_last_ended.at(1);
  EXPECT_GE(log.warnings[0].ticks, resumed);
  EXPECT_LE(log.warnings[0].ticks, finished);
  EXPECT_EQ(findings.count(WarningKind::kBlockingCall), 1);
}

}  // namespace
}  // namespace loopscope
