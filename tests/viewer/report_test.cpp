#include "synthetic_trace.hpp"
#include <loopscope/viewer/clock_map.hpp>
#include <loopscope/viewer/report.hpp>

#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>
#include <vector>

namespace loopscope::viewer {
namespace {

using testing::synthetic_trace;
namespace fmt = probes::format;
using probes::EventKind;

Report report_of(const fmt::Bytes& bytes) {
  TraceReader reader{std::span<const std::byte>(bytes)};
  return analyze(reader);
}

void expect_synthetic_report(const Report& r) {
  EXPECT_EQ(r.pid, 4321u);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.calibrated);
  EXPECT_EQ(r.duration_ns, 14000u);
  EXPECT_EQ(r.tasks.created, 4u);
  EXPECT_EQ(r.tasks.completed, 1u);
  EXPECT_EQ(r.tasks.failed, 1u);
  EXPECT_EQ(r.tasks.cancelled, 1u);
  EXPECT_EQ(r.events, testing::kSyntheticEvents);
  EXPECT_EQ(r.dropped, testing::kSyntheticDropped);

  ASSERT_EQ(r.sites.size(), 2u);
  const SiteStats& worker = r.sites[0];  // two addresses, one site
  EXPECT_EQ(worker.function, "worker");
  EXPECT_EQ(worker.file, "main.cpp");
  EXPECT_EQ(worker.line, 42u);
  EXPECT_EQ(worker.spawned_in, "amain");
  EXPECT_EQ(worker.tasks, 3u);
  EXPECT_EQ(worker.resumes, 5u);
  EXPECT_EQ(worker.busy_ns, 2050u);  // steps 500, 1000, 50, 300, 200
  EXPECT_EQ(worker.max_step_ns, 1000u);
  EXPECT_EQ(worker.p50_step_ns, 300u);
  EXPECT_EQ(worker.p99_step_ns, 1000u);
  const SiteStats& helper = r.sites[1];
  EXPECT_EQ(helper.function, "helper");
  EXPECT_EQ(helper.tasks, 1u);
  EXPECT_EQ(helper.resumes, 1u);
  EXPECT_EQ(helper.busy_ns, 200u);

  ASSERT_EQ(r.loops.size(), 1u);  // the pool thread ran no loop
  EXPECT_EQ(r.loops[0].thread, 0u);
  EXPECT_EQ(r.loops[0].name, "main");
  EXPECT_EQ(r.loops[0].os_tid, 1001u);
  EXPECT_EQ(r.loops[0].idle_ns, 10000u);
  EXPECT_EQ(r.loops[0].busy_ns, 4000u);
  EXPECT_EQ(r.loops[0].iterations, 1u);

  EXPECT_EQ(r.lag.samples, 3u);
  EXPECT_EQ(r.lag.p50_ns, 200u);
  EXPECT_EQ(r.lag.p99_ns, 300u);
  EXPECT_EQ(r.lag.max_ns, 300u);

  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_EQ(r.warnings[0].kind, "slow_callback");
  EXPECT_EQ(r.warnings[0].message, "task took 1 us");
  EXPECT_EQ(r.warnings[0].function, "worker");
  EXPECT_EQ(r.warnings[0].file, "main.cpp");
  EXPECT_EQ(r.warnings[0].line, 10u);
  EXPECT_EQ(r.warnings[0].frames.size(), 2u);
  EXPECT_EQ(r.warnings[0].time_ns, 1600u);
  EXPECT_EQ(r.warnings[1].kind, "never_awaited");
  EXPECT_EQ(r.warnings[1].function, "");
  EXPECT_EQ(r.warnings[2].kind, "unknown_200");

  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].task, 1u);
  EXPECT_EQ(r.failures[0].function, "worker");
  EXPECT_EQ(r.failures[0].spawned_in, "amain");
  EXPECT_EQ(r.failures[0].line, 42u);
  EXPECT_EQ(r.failures[0].time_ns, 13500u);
  EXPECT_EQ(r.failures[0].exception, "std::runtime_error");
  EXPECT_EQ(r.failures[0].message, "disk full");

  ASSERT_EQ(r.waits.size(), 3u);
  EXPECT_EQ(r.waits[0].reason, "yield");
  EXPECT_EQ(r.waits[1].reason, "sleep");
  EXPECT_EQ(r.waits[2].reason, "await_task");
  EXPECT_EQ(r.waits[2].count, 1u);
}

TEST(Report, ASyntheticTraceGivesExactCountsAndTimes) {
  expect_synthetic_report(report_of(synthetic_trace()));
}

TEST(Report, ATscTraceConvertsTicksThroughItsClockSyncPoints) {
  const Report r = report_of(synthetic_trace(/*tsc=*/true));
  EXPECT_EQ(r.tick_source, "tsc");
  expect_synthetic_report(r);
}

TEST(Report, ATraceWithoutAnEndChunkIsMarkedIncomplete) {
  const Report r = report_of(synthetic_trace(false, /*with_end=*/false));
  EXPECT_FALSE(r.complete);
  ASSERT_TRUE(r.truncation);
  EXPECT_NE(r.truncation->reason.find("without an end chunk"), std::string::npos);
  EXPECT_EQ(r.events, testing::kSyntheticEvents);
}

TEST(Report, TextListsEverySectionWithoutColoursUnlessAsked) {
  const Report r = report_of(synthetic_trace());
  std::ostringstream plain;
  render_text(r, plain, {.top = 1, .color = false});
  const std::string text = plain.str();
  for (const char* expected :
       {"4 created, 1 completed, 1 failed, 1 cancelled", "Loops", "Sites by busy time (top 1 of 2)",
        "2.05 us", "worker", "slow_callback: task took 1 us", "at worker (main.cpp:10)", "Loop lag",
        "await_task"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  }
  EXPECT_EQ(text.find("helper"), std::string::npos);  // --top 1
  EXPECT_EQ(text.find('\033'), std::string::npos);
  std::ostringstream colored;
  render_text(r, colored, {.top = 1, .color = true});
  EXPECT_NE(colored.str().find('\033'), std::string::npos);
}

// `failures` tasks of `fetch` that fail in turn with one of three messages (the third
// exception type mangled, as the runtime records it), each task_error written before or after
// its task's end, and one failure whose task was never created in the trace.
fmt::Bytes failing_trace(std::size_t failures) {
  fmt::Bytes out;
  fmt::append_header(out, fmt::FileHeader{probes::TickSource::kMonotonicNs, 0, 1});
  const std::vector<probes::ClockSync> sync = {{0, 0}, {1'000'000, 1'000'000}};
  fmt::append_clock_sync(out, sync);
  fmt::append_thread(out, 0, 1, "loop");
  const std::vector<std::pair<std::uint64_t, std::string_view>> strings = {
      {1, "fetch(int)"},
      {2, "net.cpp"},
      {3, "amain()"},
      {4, "std::runtime_error"},
      {5, "St12out_of_range"}};
  fmt::append_strings(out, strings);
  const std::vector<fmt::Location> locations = {{1, 0x1000, 1, 2, 10}, {2, 0, 3, 2, 30}};
  fmt::append_locations(out, locations);
  const char* const messages[] = {"refused", "timed out", "bad index"};
  std::vector<fmt::Record> events;
  for (std::uint32_t i = 0; i < failures; ++i) {
    const std::uint32_t task = 10 + i;
    const std::uint64_t t = 1000 + 10 * i;
    events.push_back({t, EventKind::kTaskCreated, task, 0, {1, 1, 2}});
    events.push_back({t + 1, EventKind::kTaskResumed, task, 0, {}});
    // Two in three say "refused"; the rest "timed out" or, from std::out_of_range, "bad index".
    const std::uint32_t kind = i % 3 != 2 ? 0 : (i % 2 == 0 ? 1 : 2);
    events.push_back({t + 2, EventKind::kTaskFinished, task, 2, {kind == 2 ? 5u : 4u, 0, 0}});
    if (i % 2 == 0) {
      fmt::append_task_error(out, 0, task, messages[kind]);  // before the events chunk
    }
  }
  events.push_back({900'000, EventKind::kTaskFinished, 5, 2, {4, 0, 0}});  // created elsewhere
  fmt::append_events(out, 0, events);
  for (std::uint32_t i = 1; i < failures; i += 2) {
    const std::uint32_t kind = i % 3 != 2 ? 0 : (i % 2 == 0 ? 1 : 2);
    fmt::append_task_error(out, 0, 10 + i, messages[kind]);  // after it
  }
  fmt::append_end(out, events.size(), 0);
  return out;
}

TEST(Report, EveryFailedTaskHasItsExceptionsTypeAndMessage) {
  const Report r = report_of(failing_trace(6));
  EXPECT_EQ(r.tasks.failed, 7u);
  ASSERT_EQ(r.failures.size(), 7u);
  for (std::size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    const Failure& f = r.failures[i];
    EXPECT_EQ(f.task, 10 + i);
    EXPECT_EQ(f.function, "fetch(int)");
    EXPECT_EQ(f.file, "net.cpp");
    EXPECT_EQ(f.line, 30u);
    EXPECT_EQ(f.spawned_in, "amain()");
    EXPECT_EQ(f.time_ns, 10 * i + 2);
    const std::size_t kind = i % 3 != 2 ? 0 : (i % 2 == 0 ? 1 : 2);
    EXPECT_EQ(f.exception, kind == 2 ? "std::out_of_range" : "std::runtime_error");
    EXPECT_EQ(f.message, (std::array<std::string, 3>{"refused", "timed out", "bad index"}[kind]));
  }
  EXPECT_EQ(r.failures[6].task, 5u);  // neither its site nor a message is known
  EXPECT_EQ(r.failures[6].function, "");
  EXPECT_EQ(r.failures[6].exception, "std::runtime_error");
  EXPECT_EQ(r.failures[6].message, "");
  EXPECT_EQ(r.failures_omitted, 0u);

  std::ostringstream text;
  render_text(r, text, {.top = 2, .color = false});
  const std::string t = text.str();
  const std::size_t section = t.find("Failed tasks (7 in 4 kinds)");
  ASSERT_NE(section, std::string::npos) << t;
  const std::size_t refused = t.find("std::runtime_error: refused", section);
  const std::size_t timed_out = t.find("std::runtime_error: timed out", section);
  EXPECT_NE(refused, std::string::npos);
  EXPECT_NE(timed_out, std::string::npos);
  EXPECT_LT(refused, timed_out);  // four of them, then one (the first of the single ones)
  EXPECT_EQ(t.find("bad index"), std::string::npos);  // --top 2
  EXPECT_NE(t.find("... and 2 more kinds"), std::string::npos);

  std::ostringstream json;
  render_json(r, json);
  EXPECT_NE(json.str().find("\"message\": \"bad index\""), std::string::npos);
  EXPECT_NE(json.str().find("\"exception\": \"std::out_of_range\""), std::string::npos);
}

TEST(Report, FailuresPastTheLimitAreCountedNotKept) {
  const Report r = report_of(failing_trace(kMaxFailures + 5));
  EXPECT_EQ(r.tasks.failed, kMaxFailures + 6);
  ASSERT_EQ(r.failures.size(), kMaxFailures);
  EXPECT_EQ(r.failures_omitted, 6u);
  EXPECT_EQ(r.failures.back().task, 10 + kMaxFailures - 1);
  EXPECT_FALSE(r.failures.back().message.empty());
}

TEST(ClockMap, InterpolatesBetweenPointsAndExtrapolatesOutside) {
  ClockMap map(probes::TickSource::kTsc);
  EXPECT_FALSE(map.calibrated());
  map.add({2000, 1000});
  map.add({1000, 500});   // out of order is fine
  map.add({4000, 3000});  // the rate changes: 1 ns/tick from here
  EXPECT_TRUE(map.calibrated());
  EXPECT_EQ(map.to_ns(1500), 750u);
  EXPECT_EQ(map.to_ns(3000), 2000u);
  EXPECT_EQ(map.to_ns(0), 0u);              // extrapolated from the first two
  EXPECT_EQ(map.to_ns(5000), 4000u);        // from the last two
  EXPECT_EQ(map.duration_ns(3000), 2500u);  // average rate 2500 ns / 3000 ticks
}

TEST(ClockMap, MonotonicTicksAreNanoseconds) {
  ClockMap map(probes::TickSource::kMonotonicNs);
  map.add({0, 999});
  EXPECT_EQ(map.to_ns(12345), 12345u);
  EXPECT_EQ(map.duration_ns(7), 7u);
}

TEST(Distribution, IsExactForTheFirstSamplesAndWithinTwoPercentAfter) {
  Distribution d;
  for (std::uint64_t v = 1; v <= 100; ++v) {
    d.add(v * 1000);
  }
  EXPECT_EQ(d.percentile(50), 50'000u);
  EXPECT_EQ(d.percentile(99), 99'000u);
  EXPECT_EQ(d.percentile(100), 100'000u);
  Distribution big;
  for (std::uint64_t v = 1; v <= 100'000; ++v) {
    big.add(v * 1000);
  }
  EXPECT_NEAR(static_cast<double>(big.percentile(50)), 50'000'000.0, 50'000'000.0 * 0.02);
  EXPECT_NEAR(static_cast<double>(big.percentile(99)), 99'000'000.0, 99'000'000.0 * 0.02);
  EXPECT_EQ(big.max(), 100'000'000u);
  Distribution merged;
  merged.merge(d);
  merged.merge(big);
  EXPECT_EQ(merged.count(), 100'100u);
  EXPECT_EQ(Distribution().percentile(50), 0u);
}

}  // namespace
}  // namespace loopscope::viewer
