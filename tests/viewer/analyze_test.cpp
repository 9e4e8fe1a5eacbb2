// analyze() on the program trace: the figures the report adds to the basic counts (wait
// time split into idle and scheduled, outcomes per site, slowest steps with their stacks,
// lag percentiles and histogram, waits by reason, utilization, sorting).
#include "program_trace.hpp"
#include <loopscope/viewer/report.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace loopscope::viewer {
namespace {

Report program_report(const testing::ProgramTraceOptions& options = {}) {
  const probes::format::Bytes bytes = testing::program_trace(options);
  TraceReader reader{std::span<const std::byte>(bytes)};
  return analyze(reader);
}

const SiteStats& site(const Report& r, std::string_view function) {
  const auto it = std::find_if(r.sites.begin(), r.sites.end(),
                               [&](const SiteStats& s) { return s.function.find(function) == 0; });
  EXPECT_NE(it, r.sites.end()) << function;
  return *it;
}

TEST(Analyze, SplitsSuspensionsIntoIdleAndScheduledTime) {
  const Report r = program_report();
  // fetch: each slept until its timer fired at 10.7 us, then waited 300 and 500 ns to run.
  const SiteStats& fetch = site(r, "(anonymous namespace)::fetch");
  EXPECT_EQ(fetch.idle_ns, 17'800u);
  EXPECT_EQ(fetch.scheduled_ns, 800u);
  // worker: ready when the awaited fetch finished, and when its thread job finished.
  const SiteStats& worker = site(r, "worker");
  EXPECT_EQ(worker.scheduled_ns, 100'100u + 300u);
  EXPECT_EQ(worker.idle_ns, 108'600u + 40'000u);
  // amain waited on several tasks at once: when it became ready the trace does not say.
  const SiteStats& amain = site(r, "amain");
  EXPECT_EQ(amain.idle_ns, 250'600u);
  EXPECT_EQ(amain.scheduled_ns, 0u);
}

TEST(Analyze, CountsOutcomesPerSite) {
  const Report r = program_report();
  const SiteStats& fetch = site(r, "(anonymous namespace)::fetch");
  EXPECT_EQ(fetch.tasks, 2u);
  EXPECT_EQ(fetch.resumes, 4u);
  EXPECT_EQ(fetch.completed, 1u);
  EXPECT_EQ(fetch.failed, 1u);
  EXPECT_EQ(fetch.cancelled, 0u);
  EXPECT_EQ(fetch.busy_ns, 100'300u);
  EXPECT_EQ(r.tasks.created, 5u);
  EXPECT_EQ(r.tasks.completed, 3u);
  EXPECT_EQ(r.tasks.failed, 1u);
}

TEST(Analyze, TheSlowestStepCarriesTheStackOfItsSlowCallbackWarning) {
  const Report r = program_report();
  ASSERT_FALSE(r.slowest.empty());
  const SlowStep& s = r.slowest.front();
  EXPECT_EQ(s.task, 3u);
  EXPECT_EQ(s.duration_ns, 100'000u);
  EXPECT_EQ(s.start_ns, 10'200u);
  EXPECT_EQ(s.file, "app/main.cpp");
  EXPECT_EQ(s.line, 35u);
  EXPECT_EQ(s.stack_kind, "slow_callback");
  ASSERT_EQ(s.stack.size(), 3u);
  EXPECT_EQ(s.stack[0].function, "nanosleep");
  EXPECT_EQ(s.stack[1].line, 12u);
  // The others had no warning.
  EXPECT_TRUE(std::all_of(r.slowest.begin() + 1, r.slowest.end(),
                          [](const SlowStep& x) { return x.stack_kind.empty(); }));
  EXPECT_TRUE(std::is_sorted(
      r.slowest.begin(), r.slowest.end(),
      [](const SlowStep& a, const SlowStep& b) { return a.duration_ns > b.duration_ns; }));
}

TEST(Analyze, KeepsAsManySlowStepsAsAsked) {
  const probes::format::Bytes bytes = testing::program_trace();
  TraceReader reader{std::span<const std::byte>(bytes)};
  EXPECT_EQ(analyze(reader, {.slowest = 2}).slowest.size(), 2u);
  EXPECT_TRUE(analyze(reader, {.slowest = 0}).slowest.empty());
}

TEST(Analyze, LagHasPercentilesAndAHistogramOfItsSamples) {
  const Report r = program_report();
  EXPECT_EQ(r.lag.samples, 15u);
  EXPECT_EQ(r.lag.p50_ns, 4'000u);
  EXPECT_EQ(r.lag.p90_ns, 60'000u);
  EXPECT_EQ(r.lag.p99_ns, 120'000u);
  EXPECT_EQ(r.lag.max_ns, 120'000u);
  ASSERT_EQ(r.lag.histogram.size(), 8u);
  EXPECT_EQ(r.lag.histogram.front().lo_ns, 500u);
  EXPECT_EQ(r.lag.histogram.front().hi_ns, 1'000u);
  EXPECT_EQ(r.lag.histogram.front().count, 2u);
  EXPECT_EQ(r.lag.histogram[2].count, 4u);  // 2, 2.5, 3, 4 us
  std::uint64_t total = 0;
  for (const LagBucket& b : r.lag.histogram) {
    total += b.count;
  }
  EXPECT_EQ(total, r.lag.samples);
}

TEST(Analyze, WaitsByReasonAddUpTheirSuspensions) {
  const Report r = program_report();
  const auto wait = [&](std::string_view reason) {
    const auto it = std::find_if(r.waits.begin(), r.waits.end(),
                                 [&](const WaitStats& w) { return w.reason == reason; });
    EXPECT_NE(it, r.waits.end()) << reason;
    return *it;
  };
  EXPECT_EQ(wait("sleep").count, 2u);
  EXPECT_EQ(wait("sleep").total_ns, 18'600u);
  EXPECT_EQ(wait("sleep").max_ns, 9'300u);
  EXPECT_EQ(wait("wait_tasks").total_ns, 250'600u);
  EXPECT_EQ(wait("thread_job").total_ns, 40'300u);
  // The second io_read suspension never ended: counted, but with no time.
  EXPECT_EQ(wait("io_read").count, 2u);
  EXPECT_EQ(wait("io_read").total_ns, 14'800u);
}

TEST(Analyze, UtilizationIsBusyOverBusyAndIdleOfEveryLoop) {
  const Report r = program_report();
  ASSERT_EQ(r.loops.size(), 2u);
  EXPECT_EQ(r.loops[0].busy_ns, 203'100u);
  EXPECT_EQ(r.loops[0].idle_ns, 48'100u);
  EXPECT_EQ(r.threads, 2u);
  EXPECT_NEAR(utilization_percent(r), 100.0 * 204'100 / (204'100 + 292'200), 1e-9);
  EXPECT_EQ(utilization_percent(Report{}), 0.0);
}

TEST(Analyze, SitesSortByEveryKey) {
  Report r = program_report();
  for (const std::string_view key : kSiteSortKeys) {
    EXPECT_TRUE(sort_sites(r, key)) << key;
  }
  ASSERT_TRUE(sort_sites(r, "idle"));
  EXPECT_EQ(r.sites.front().function, "amain()");
  ASSERT_TRUE(sort_sites(r, "name"));
  EXPECT_EQ(r.sites.front().function, "(anonymous namespace)::fetch(std::string)");
  ASSERT_TRUE(sort_sites(r, "scheduled"));
  EXPECT_EQ(r.sites.front().function, "worker(int)");
  EXPECT_FALSE(sort_sites(r, "colour"));
}

}  // namespace
}  // namespace loopscope::viewer
