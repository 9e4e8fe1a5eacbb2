// diff_reports() and its renderings (see diff.hpp).
#include "text_format.hpp"
#include <loopscope/viewer/diff.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

namespace loopscope::viewer {

namespace {

using Json = nlohmann::ordered_json;
using SiteKey = std::tuple<std::string, std::string, std::uint64_t>;

struct Merged {
  std::uint64_t tasks = 0, busy_ns = 0, p99_step_ns = 0;
};

// Sites by function and file:line; the rare site spawned from one line in two functions is
// one site here, with its worst p99.
std::map<SiteKey, Merged> by_site(const Report& r) {
  std::map<SiteKey, Merged> out;
  for (const SiteStats& s : r.sites) {
    Merged& m = out[{s.function, s.file, s.line}];
    m.tasks += s.tasks;
    m.busy_ns += s.busy_ns;
    m.p99_step_ns = std::max(m.p99_step_ns, s.p99_step_ns);
  }
  return out;
}

void compare(DiffResult& d, std::string metric, const SiteKey* site, std::uint64_t before,
             std::uint64_t after) {
  Change c;
  c.metric = std::move(metric);
  if (site != nullptr) {
    std::tie(c.function, c.file, c.line) = *site;
  }
  c.before = before;
  c.after = after;
  if (before != 0) {
    c.change_pct = (static_cast<double>(after) - static_cast<double>(before)) /
                   static_cast<double>(before) * 100.0;
  }
  const bool grew = c.change_pct ? *c.change_pct > d.threshold_pct : after > before;
  const bool shrank = c.change_pct && *c.change_pct < -d.threshold_pct;
  if (grew) {
    d.worse.push_back(std::move(c));
  } else if (shrank) {
    d.better.push_back(std::move(c));
  }
}

// Largest relative change first; a growth from 0 (no percentage) before everything.
bool larger(const Change& a, const Change& b) {
  const double x = a.change_pct ? std::abs(*a.change_pct) : HUGE_VAL;
  const double y = b.change_pct ? std::abs(*b.change_pct) : HUGE_VAL;
  return x > y;
}

std::string site_text(const Change& c) {
  if (c.function.empty() && c.file.empty()) {
    return "(whole trace)";
  }
  return detail::where(c.function, c.file, c.line);
}

std::string value_text(const Change& c, std::uint64_t v) {
  return c.metric == "tasks" ? detail::count(v) : detail::duration(v);
}

void change_lines(const std::vector<Change>& changes, std::ostream& out, const std::string& title,
                  const detail::Style& st, bool worse) {
  if (changes.empty()) {
    return;
  }
  out << "\n" << st.bold(title) << detail::format(" (%zu)", changes.size()) << "\n";
  for (const Change& c : changes) {
    const std::string pct = c.change_pct ? detail::format("%+.1f%%", *c.change_pct) : "new";
    out << detail::format("  %-12s %12s -> %-12s ", c.metric.c_str(),
                          value_text(c, c.before).c_str(), value_text(c, c.after).c_str())
        << (worse ? st.bad(detail::format("%8s", pct.c_str()))
                  : st.good(detail::format("%8s", pct.c_str())))
        << "  " << site_text(c) << "\n";
  }
}

void site_lines(const std::vector<SiteSummary>& sites, std::ostream& out, const std::string& title,
                const detail::Style& st) {
  if (sites.empty()) {
    return;
  }
  out << "\n" << st.bold(title) << detail::format(" (%zu)", sites.size()) << "\n";
  for (const SiteSummary& s : sites) {
    out << detail::format("  %8s tasks %12s busy  ", detail::count(s.tasks).c_str(),
                          detail::duration(s.busy_ns).c_str())
        << detail::where(s.function, s.file, s.line) << "\n";
  }
}

Json changes_json(const std::vector<Change>& changes) {
  Json out = Json::array();
  for (const Change& c : changes) {
    out.push_back(Json{{"metric", c.metric},
                       {"function", c.function},
                       {"file", c.file},
                       {"line", c.line},
                       {"before", c.before},
                       {"after", c.after},
                       {"change_pct", c.change_pct ? Json(*c.change_pct) : Json(nullptr)}});
  }
  return out;
}

Json sites_json(const std::vector<SiteSummary>& sites) {
  Json out = Json::array();
  for (const SiteSummary& s : sites) {
    out.push_back(Json{{"function", s.function},
                       {"file", s.file},
                       {"line", s.line},
                       {"tasks", s.tasks},
                       {"busy_ns", s.busy_ns}});
  }
  return out;
}

}  // namespace

DiffResult diff_reports(const Report& before, const Report& after, double threshold_pct) {
  DiffResult d;
  d.threshold_pct = threshold_pct;
  const auto a = by_site(before);
  const auto b = by_site(after);
  for (const auto& [key, x] : a) {
    const auto it = b.find(key);
    if (it == b.end()) {
      d.removed.push_back(
          SiteSummary{std::get<0>(key), std::get<1>(key), std::get<2>(key), x.tasks, x.busy_ns});
      continue;
    }
    const Merged& y = it->second;
    compare(d, "tasks", &key, x.tasks, y.tasks);
    compare(d, "busy_ns", &key, x.busy_ns, y.busy_ns);
    compare(d, "p99_step_ns", &key, x.p99_step_ns, y.p99_step_ns);
  }
  for (const auto& [key, y] : b) {
    if (!a.contains(key)) {
      d.added.push_back(
          SiteSummary{std::get<0>(key), std::get<1>(key), std::get<2>(key), y.tasks, y.busy_ns});
    }
  }
  compare(d, "lag_p99_ns", nullptr, before.lag.p99_ns, after.lag.p99_ns);
  std::stable_sort(d.worse.begin(), d.worse.end(), larger);
  std::stable_sort(d.better.begin(), d.better.end(), larger);
  return d;
}

void render_diff_text(const DiffResult& d, std::ostream& out, bool color) {
  const detail::Style st{color};
  out << st.bold("loopscope diff") << detail::format(" (threshold %g%%)", d.threshold_pct) << "\n";
  if (d.worse.empty()) {
    out << "  nothing got worse beyond the threshold\n";
  }
  change_lines(d.worse, out, "Worse", st, true);
  change_lines(d.better, out, "Better", st, false);
  site_lines(d.added, out, "Only in the second trace", st);
  site_lines(d.removed, out, "Only in the first trace", st);
}

void render_diff_json(const DiffResult& d, std::ostream& out) {
  const Json j{{"threshold_pct", d.threshold_pct}, {"regressed", d.regressed()},
               {"worse", changes_json(d.worse)},   {"better", changes_json(d.better)},
               {"added", sites_json(d.added)},     {"removed", sites_json(d.removed)}};
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

}  // namespace loopscope::viewer
