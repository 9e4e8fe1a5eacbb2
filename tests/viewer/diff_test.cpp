// diff_reports() and `loopscope diff`'s exit statuses.
#include "program_trace.hpp"
#include "synthetic_trace.hpp"
#include <loopscope/viewer/commands.hpp>
#include <loopscope/viewer/diff.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace loopscope::viewer {
namespace {

using testing::program_trace;
using testing::TempFile;

Report report_of(const probes::format::Bytes& bytes) {
  TraceReader reader{std::span<const std::byte>(bytes)};
  return analyze(reader);
}

const testing::ProgramTraceOptions kSlower{.slow_ns = 200'000, .lag_scale = 2};

bool has(const std::vector<Change>& changes, std::string_view metric, std::string_view function) {
  return std::any_of(changes.begin(), changes.end(), [&](const Change& c) {
    return c.metric == metric && c.function.find(function) != std::string::npos;
  });
}

TEST(Diff, ATraceComparedWithItselfHasNoChanges) {
  const Report r = report_of(program_trace());
  const DiffResult d = diff_reports(r, r);
  EXPECT_FALSE(d.regressed());
  EXPECT_TRUE(d.better.empty());
  EXPECT_TRUE(d.added.empty());
  EXPECT_TRUE(d.removed.empty());
}

TEST(Diff, ASlowerStepAndMoreLagAreWorse) {
  const DiffResult d = diff_reports(report_of(program_trace()), report_of(program_trace(kSlower)));
  EXPECT_TRUE(d.regressed());
  EXPECT_TRUE(has(d.worse, "busy_ns", "fetch"));
  EXPECT_TRUE(has(d.worse, "p99_step_ns", "fetch"));
  EXPECT_TRUE(has(d.worse, "lag_p99_ns", ""));
  EXPECT_FALSE(has(d.worse, "tasks", ""));
  const auto busy = std::find_if(d.worse.begin(), d.worse.end(),
                                 [](const Change& c) { return c.metric == "busy_ns"; });
  ASSERT_NE(busy, d.worse.end());
  EXPECT_EQ(busy->before, 100'300u);
  EXPECT_EQ(busy->after, 200'300u);
  ASSERT_TRUE(busy->change_pct);
  EXPECT_NEAR(*busy->change_pct, 99.7, 0.05);
}

TEST(Diff, TheOtherWayRoundTheSameChangesAreBetter) {
  const DiffResult d = diff_reports(report_of(program_trace(kSlower)), report_of(program_trace()));
  EXPECT_FALSE(d.regressed());
  EXPECT_TRUE(has(d.better, "busy_ns", "fetch"));
  EXPECT_TRUE(has(d.better, "lag_p99_ns", ""));
}

TEST(Diff, ChangesWithinTheThresholdDoNotCount) {
  const DiffResult d =
      diff_reports(report_of(program_trace()), report_of(program_trace(kSlower)), 150.0);
  EXPECT_FALSE(d.regressed());
  EXPECT_TRUE(d.better.empty());
}

TEST(Diff, SitesInOnlyOneTraceAreListedApart) {
  const DiffResult d =
      diff_reports(report_of(testing::synthetic_trace()), report_of(program_trace()));
  EXPECT_FALSE(d.added.empty());
  EXPECT_FALSE(d.removed.empty());
  EXPECT_TRUE(std::none_of(d.worse.begin(), d.worse.end(),
                           [](const Change& c) { return c.metric == "tasks"; }));
}

TEST(Diff, JsonListsTheChangesWithTheirPercentages) {
  std::ostringstream out;
  render_diff_json(diff_reports(report_of(program_trace()), report_of(program_trace(kSlower))),
                   out);
  const nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["threshold_pct"], 10.0);
  EXPECT_TRUE(j["regressed"]);
  ASSERT_FALSE(j["worse"].empty());
  for (const char* field :
       {"metric", "function", "file", "line", "before", "after", "change_pct"}) {
    EXPECT_TRUE(j["worse"][0].contains(field)) << field;
  }
}

TEST(DiffCommand, ExitStatusSaysWhetherAnythingGotWorse) {
  const TempFile a("diff_a.lstrace", program_trace());
  const TempFile b("diff_b.lstrace", program_trace(kSlower));
  std::ostringstream out, err;
  EXPECT_EQ(run_diff({a.path().string(), a.path().string()}, out, err), kExitOk);
  EXPECT_EQ(run_diff({a.path().string(), b.path().string()}, out, err), kExitRegressed);
  EXPECT_EQ(run_diff({b.path().string(), a.path().string()}, out, err), kExitOk);
  EXPECT_EQ(err.str(), "");
}

TEST(DiffCommand, AnUnreadableTraceIsExitStatusTwo) {
  const TempFile a("diff_ok.lstrace", program_trace());
  probes::format::Bytes bytes = program_trace();
  bytes[40] ^= std::byte{1};
  const TempFile bad("diff_bad.lstrace", bytes);
  std::ostringstream out, err;
  EXPECT_EQ(run_diff({a.path().string(), "/nonexistent.lstrace"}, out, err), kExitDiffError);
  EXPECT_EQ(run_diff({bad.path().string(), a.path().string()}, out, err), kExitDiffError);
  EXPECT_NE(err.str().find("diff_bad.lstrace"), std::string::npos) << err.str();
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace loopscope::viewer
