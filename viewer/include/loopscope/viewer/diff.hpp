// diff: what changed between two traces of the same program, site by site.
//
// Sites are matched by coroutine function and spawn site (file:line). For each site present in
// both traces the diff compares the number of tasks, the busy time and the p99 step; for the
// whole trace, the loop lag p99. A change is "worse" when the value grew by more than the
// threshold (in percent of the first trace's value; any growth from 0 counts), "better" when
// it shrank by more than the threshold. Sites found in only one trace are listed as added or
// removed; they are not counted as worse or better.
#pragma once

#include <loopscope/viewer/report.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace loopscope::viewer {

struct Change {
  std::string metric;          // "tasks", "busy_ns", "p99_step_ns" (per site), "lag_p99_ns" (trace)
  std::string function, file;  // the site; empty for trace-wide metrics
  std::uint64_t line = 0;
  std::uint64_t before = 0, after = 0;
  std::optional<double> change_pct;  // (after - before) / before * 100; empty when before is 0
};

struct SiteSummary {
  std::string function, file;
  std::uint64_t line = 0;
  std::uint64_t tasks = 0, busy_ns = 0;
};

struct DiffResult {
  double threshold_pct = 10;
  std::vector<Change> worse, better;  // largest change first
  std::vector<SiteSummary> added, removed;
  [[nodiscard]] bool regressed() const noexcept { return !worse.empty(); }
};

DiffResult diff_reports(const Report& before, const Report& after, double threshold_pct = 10);

void render_diff_text(const DiffResult& diff, std::ostream& out, bool color = false);
void render_diff_json(const DiffResult& diff, std::ostream& out);

}  // namespace loopscope::viewer
