// The lag and waits sections of the text report.
#include "report_text.hpp"

#include <algorithm>

namespace loopscope::viewer::detail {

namespace {

constexpr std::size_t kBarWidth = 40;

std::string bucket_label(const LagBucket& b) {
  if (b.lo_ns == 0) {
    return "< " + duration(b.hi_ns);
  }
  if (b.hi_ns == 0) {
    return ">= " + duration(b.lo_ns);
  }
  return duration(b.lo_ns) + " - " + duration(b.hi_ns);
}

// A bar of `n` out of `max` on kBarWidth cells: full blocks on a terminal, '#' elsewhere
// (files and pipes stay ASCII). Any non-zero count shows at least one cell.
std::string bar(std::uint64_t n, std::uint64_t max, bool unicode) {
  std::size_t cells = max == 0 ? 0 : static_cast<std::size_t>(n * kBarWidth / max);
  if (n != 0 && cells == 0) {
    cells = 1;
  }
  std::string out;
  for (std::size_t i = 0; i < cells; ++i) {
    out += unicode ? "\u2588" : "#";
  }
  out.append(kBarWidth - cells, ' ');
  return out;
}

}  // namespace

void render_lag(const Report& r, std::ostream& out, const Style& st) {
  if (r.lag.samples == 0) {
    return;
  }
  out << "\n"
      << st.bold("Loop lag") << "  " << count(r.lag.samples) << " samples: p50 "
      << duration(r.lag.p50_ns) << ", p90 " << duration(r.lag.p90_ns) << ", p99 "
      << duration(r.lag.p99_ns) << ", max " << duration(r.lag.max_ns) << "\n";
  std::uint64_t max = 0;
  for (const LagBucket& b : r.lag.histogram) {
    max = std::max(max, b.count);
  }
  for (const LagBucket& b : r.lag.histogram) {
    out << format("  %21s |", bucket_label(b).c_str()) << bar(b.count, max, st.on) << "| "
        << count(b.count) << "\n";
  }
}

void render_waits(const Report& r, std::ostream& out, const Style& st) {
  if (r.waits.empty()) {
    return;
  }
  std::vector<const WaitStats*> order;
  for (const WaitStats& w : r.waits) {
    order.push_back(&w);
  }
  std::stable_sort(order.begin(), order.end(), [](const WaitStats* a, const WaitStats* b) {
    return a->total_ns != b->total_ns ? a->total_ns > b->total_ns : a->count > b->count;
  });
  out << "\n" << st.bold("What tasks waited on") << "\n";
  out << st.dim(format("  %-16s %12s %12s %12s", "reason", "suspensions", "total", "longest"))
      << "\n";
  for (const WaitStats* w : order) {
    out << format("  %-16s %12s %12s %12s", w->reason.c_str(), count(w->count).c_str(),
                  duration(w->total_ns).c_str(), duration(w->max_ns).c_str())
        << "\n";
  }
}

}  // namespace loopscope::viewer::detail
