// Orderings and totals over a finished Report, shared by the renderings and the commands.
#include <loopscope/viewer/report.hpp>

#include <algorithm>
#include <tuple>

namespace loopscope::viewer {

namespace {

using Metric = std::uint64_t SiteStats::*;

// The metric behind each numeric sort key; `name` is handled apart.
Metric metric_of(std::string_view key) {
  if (key == "busy") {
    return &SiteStats::busy_ns;
  }
  if (key == "tasks") {
    return &SiteStats::tasks;
  }
  if (key == "resumes") {
    return &SiteStats::resumes;
  }
  if (key == "max") {
    return &SiteStats::max_step_ns;
  }
  if (key == "p99") {
    return &SiteStats::p99_step_ns;
  }
  if (key == "idle") {
    return &SiteStats::idle_ns;
  }
  if (key == "scheduled") {
    return &SiteStats::scheduled_ns;
  }
  if (key == "failed") {
    return &SiteStats::failed;
  }
  return nullptr;
}

}  // namespace

bool sort_sites(Report& report, std::string_view key) {
  if (key == "name") {
    std::stable_sort(
        report.sites.begin(), report.sites.end(), [](const SiteStats& a, const SiteStats& b) {
          return std::tie(a.function, a.file, a.line) < std::tie(b.function, b.file, b.line);
        });
    return true;
  }
  const Metric metric = metric_of(key);
  if (metric == nullptr) {
    return false;
  }
  // Ties keep the busy-time order analyze() gave them.
  std::stable_sort(
      report.sites.begin(), report.sites.end(),
      [metric](const SiteStats& a, const SiteStats& b) { return a.*metric > b.*metric; });
  return true;
}

double utilization_percent(const Report& report) {
  std::uint64_t busy = 0, total = 0;
  for (const LoopStats& l : report.loops) {
    busy += l.busy_ns;
    total += l.busy_ns + l.idle_ns;
  }
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(busy) / static_cast<double>(total);
}

}  // namespace loopscope::viewer
