// "Failed tasks" of the terminal report: the failures grouped by where the task came from and
// what its exception said, most frequent first, so that a thousand tasks failing the same way
// are one line and a single odd failure still shows. The JSON lists every failure.
#include "report_text.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

namespace loopscope::viewer::detail {

namespace {

struct FailureGroup {
  const Failure* first = nullptr;  // in trace order
  std::uint64_t count = 0;
};

std::vector<FailureGroup> group_failures(const std::vector<Failure>& failures) {
  using Key = std::tuple<const std::string&, const std::string&, std::uint64_t, const std::string&,
                         const std::string&, const std::string&>;
  std::map<Key, std::size_t> index;
  std::vector<FailureGroup> groups;
  for (const Failure& f : failures) {
    const Key key{f.function, f.file, f.line, f.spawned_in, f.exception, f.message};
    const auto [it, added] = index.try_emplace(key, groups.size());
    if (added) {
      groups.push_back(FailureGroup{&f, 0});
    }
    ++groups[it->second].count;
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const FailureGroup& a, const FailureGroup& b) { return a.count > b.count; });
  return groups;
}

}  // namespace

void render_failures(const Report& r, std::ostream& out, const Style& st, std::size_t top) {
  if (r.failures.empty()) {
    return;
  }
  const std::vector<FailureGroup> groups = group_failures(r.failures);
  const std::uint64_t total = r.failures.size() + r.failures_omitted;
  out << "\n" << st.bold("Failed tasks") << " (" << count(total);
  if (groups.size() > 1) {
    out << " in " << count(groups.size()) << " kinds";
  }
  out << ")\n";
  out << st.dim(format("  %8s %12s %7s %10s  %s", "tasks", "first at", "thread", "task",
                       "coroutine  <- spawned at"))
      << "\n";
  const std::size_t shown = std::min(top, groups.size());
  for (std::size_t i = 0; i < shown; ++i) {
    const Failure& f = *groups[i].first;
    out << format("  %8s %12s %7u %10llu  ", count(groups[i].count).c_str(),
                  ("+" + duration(f.time_ns)).c_str(), f.thread,
                  static_cast<unsigned long long>(f.task))
        << st.bold(f.function.empty() ? std::string("<unknown>") : short_name(f.function));
    if (!f.file.empty() || !f.spawned_in.empty()) {
      out << st.dim("  <- " + where(f.spawned_in, f.file, f.line));
    }
    out << "\n      "
        << st.bad(f.exception.empty() ? std::string("unknown exception") : f.exception);
    if (!f.message.empty()) {
      out << ": " << f.message;
    }
    out << "\n";
  }
  if (shown < groups.size()) {
    out << "  ... and " << count(groups.size() - shown) << " more kinds\n";
  }
  if (r.failures_omitted != 0) {
    out << "  (" << count(r.failures_omitted) << " failures after the first "
        << count(r.failures.size()) << " are counted, not shown)\n";
  }
}

}  // namespace loopscope::viewer::detail
