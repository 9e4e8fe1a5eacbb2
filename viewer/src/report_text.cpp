// The terminal rendering of a Report: an overview, then one section per topic, each skipped
// when it has nothing to say.
#include <loopscope/viewer/report.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <string>

namespace loopscope::viewer {

namespace {

struct Style {
  bool on;
  [[nodiscard]] std::string wrap(std::string_view code, std::string_view text) const {
    if (!on) {
      return std::string(text);
    }
    return "\033[" + std::string(code) + "m" + std::string(text) + "\033[0m";
  }
  [[nodiscard]] std::string bold(std::string_view t) const { return wrap("1", t); }
  [[nodiscard]] std::string dim(std::string_view t) const { return wrap("2", t); }
  [[nodiscard]] std::string warn(std::string_view t) const { return wrap("33", t); }
  [[nodiscard]] std::string bad(std::string_view t) const { return wrap("31", t); }
};

std::string format(const char* fmt, auto... args) {
  std::array<char, 256> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), fmt, args...);
  return {buf.data(), static_cast<std::size_t>(std::clamp(n, 0, 255))};
}

std::string duration(std::uint64_t ns) {
  const auto v = static_cast<double>(ns);
  if (ns < 1'000) {
    return format("%llu ns", static_cast<unsigned long long>(ns));
  }
  if (ns < 1'000'000) {
    return format("%.2f us", v / 1e3);
  }
  if (ns < 1'000'000'000) {
    return format("%.2f ms", v / 1e6);
  }
  return format("%.3f s", v / 1e9);
}

std::string count(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

std::string wall_clock(std::uint64_t unix_ns) {
  const auto seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000u);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf.data();
}

// The end of `s` is a bracketed group opened by `open`: the index of its opening bracket.
std::size_t group_start(std::string_view s, char open, char close) {
  int depth = 0;
  for (std::size_t i = s.size(); i-- > 0;) {
    depth += s[i] == close ? 1 : s[i] == open ? -1 : 0;
    if (depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// A demangled signature shortened for a terminal: no " [with T = ...]", no parameter list,
// no return type. "(anonymous namespace)::fetch(fetch(std::string)::Frame*)" -> "(anonymous
// namespace)::fetch". The JSON keeps the full name.
std::string short_name(std::string_view name) {
  if (const auto with = name.find(" [with "); with != std::string_view::npos) {
    name = name.substr(0, with);
  }
  if (name.ends_with(')')) {
    const std::size_t open = group_start(name, '(', ')');
    if (open != std::string_view::npos && open > 0) {
      name = name.substr(0, open);
    }
  }
  int depth = 0;
  for (std::size_t i = name.size(); i-- > 0;) {
    depth += name[i] == '>' || name[i] == ')' ? 1 : name[i] == '<' || name[i] == '(' ? -1 : 0;
    if (depth == 0 && name[i] == ' ' && (i == 0 || name[i - 1] != ',')) {
      return std::string(name.substr(i + 1));
    }
  }
  return std::string(name);
}

std::string where(const std::string& function, const std::string& file, std::uint64_t line) {
  std::string s = function.empty() ? "<unknown>" : short_name(function);
  if (!file.empty()) {
    s += " (" + file + (line != 0 ? ":" + std::to_string(line) : "") + ")";
  }
  return s;
}

void overview(const Report& r, std::ostream& out, const Style& st) {
  out << st.bold("loopscope report") << "\n";
  out << "  trace     pid " << r.pid << ", started " << wall_clock(r.start_unix_ns) << ", "
      << duration(r.duration_ns) << ", tick source " << r.tick_source << "\n";
  out << "  tasks     " << count(r.tasks.created) << " created, " << count(r.tasks.completed)
      << " completed, " << count(r.tasks.failed) << " failed, " << count(r.tasks.cancelled)
      << " cancelled\n";
  out << "  events    " << count(r.events) << " recorded, "
      << (r.dropped != 0 ? st.bad(count(r.dropped)) : std::string("0")) << " dropped\n";
  if (r.truncation) {
    out << "  " << st.warn("incomplete") << "  " << r.truncation->reason << " (at byte "
        << r.truncation->offset << ")\n";
  }
  if (!r.calibrated) {
    out << "  " << st.warn("uncalibrated") << " no clock calibration: durations are raw ticks\n";
  }
}

void loops(const Report& r, std::ostream& out, const Style& st) {
  if (r.loops.empty()) {
    return;
  }
  out << "\n" << st.bold("Loops") << "\n";
  out << st.dim(format("  %-8s %-16s %12s %12s %7s %11s", "thread", "name", "busy", "idle", "util",
                       "iterations"))
      << "\n";
  for (const LoopStats& l : r.loops) {
    const std::uint64_t total = l.busy_ns + l.idle_ns;
    const double util =
        total == 0 ? 0.0 : 100.0 * static_cast<double>(l.busy_ns) / static_cast<double>(total);
    out << format("  %-8u %-16s %12s %12s %6.1f%% %11s", l.thread, l.name.c_str(),
                  duration(l.busy_ns).c_str(), duration(l.idle_ns).c_str(), util,
                  count(l.iterations).c_str())
        << "\n";
  }
}

void sites(const Report& r, std::ostream& out, const Style& st, std::size_t top) {
  if (r.sites.empty()) {
    return;
  }
  const std::size_t shown = std::min(top, r.sites.size());
  out << "\n"
      << st.bold("Sites by busy time") << st.dim(format(" (top %zu of %zu)", shown, r.sites.size()))
      << "\n";
  out << st.dim(format("  %11s %11s %11s %11s %9s %9s  %s", "busy", "max step", "p50 step",
                       "p99 step", "tasks", "resumes", "coroutine  <- spawned at"))
      << "\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const SiteStats& s = r.sites[i];
    out << format("  %11s %11s %11s %11s %9s %9s  ", duration(s.busy_ns).c_str(),
                  duration(s.max_step_ns).c_str(), duration(s.p50_step_ns).c_str(),
                  duration(s.p99_step_ns).c_str(), count(s.tasks).c_str(), count(s.resumes).c_str())
        << st.bold(short_name(s.function));
    if (!s.file.empty() || !s.spawned_in.empty()) {
      out << st.dim("  <- " + where(s.spawned_in, s.file, s.line));
    }
    out << "\n";
  }
}

void warnings(const Report& r, std::ostream& out, const Style& st) {
  if (r.warnings.empty()) {
    return;
  }
  out << "\n" << st.bold("Warnings") << format(" (%zu)", r.warnings.size()) << "\n";
  for (const WarningEntry& w : r.warnings) {
    out << "  " << st.warn(w.kind) << ": " << w.message << "\n";
    for (const Frame& f : w.frames) {
      out << "      at " << where(f.function, f.file, f.line) << "\n";
    }
  }
  if (r.warnings_omitted != 0) {
    out << "  ... and " << count(r.warnings_omitted) << " more\n";
  }
}

void lag_and_reasons(const Report& r, std::ostream& out, const Style& st) {
  if (r.lag.samples != 0) {
    out << "\n"
        << st.bold("Loop lag") << "  " << count(r.lag.samples) << " samples, p50 "
        << duration(r.lag.p50_ns) << ", p99 " << duration(r.lag.p99_ns) << ", max "
        << duration(r.lag.max_ns) << "\n";
  }
  if (r.suspend_reasons.empty()) {
    return;
  }
  out << "\n" << st.bold("What tasks waited on") << "\n";
  for (const ReasonCount& c : r.suspend_reasons) {
    out << format("  %-16s %12s", c.reason.c_str(), count(c.count).c_str()) << "\n";
  }
}

}  // namespace

void render_text(const Report& report, std::ostream& out, const TextOptions& options) {
  const Style st{options.color};
  overview(report, out, st);
  loops(report, out, st);
  sites(report, out, st, options.top);
  warnings(report, out, st);
  lag_and_reasons(report, out, st);
}

}  // namespace loopscope::viewer
