// The bodies of the `loopscope` subcommands (see commands.hpp).
#include "atomic_file.hpp"
#include <loopscope/viewer/commands.hpp>
#include <loopscope/viewer/diff.hpp>
#include <loopscope/viewer/report.hpp>

#include <algorithm>
#include <exception>

namespace loopscope::viewer {

namespace {

void warn_truncated(const std::string& file, const std::optional<Truncation>& truncation,
                    std::string_view covers, std::ostream& err) {
  if (truncation) {
    err << "loopscope: warning: " << file << ": " << truncation->reason << " (at byte "
        << truncation->offset << "); the " << covers << " covers what was written before\n";
  }
}

}  // namespace

int run_report(const ReportCommand& command, std::ostream& out, std::ostream& err) {
  try {
    TraceReader reader(command.file);
    Report report = analyze(reader, {.slowest = std::max<std::size_t>(command.top, 1)});
    if (!sort_sites(report, command.sort)) {
      err << "loopscope: error: unknown sort key '" << command.sort << "'\n";
      return kExitUsage;
    }
    warn_truncated(command.file, report.truncation, "report", err);
    if (command.json) {
      render_json(report, out);
    } else {
      render_text(report, out, {.top = command.top, .color = command.color, .sort = command.sort});
    }
    out.flush();
    return kExitOk;
  } catch (const std::exception& e) {
    err << "loopscope: error: " << command.file << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

int run_export(const ExportCommand& command, std::ostream& err) {
  try {
    TraceReader reader(command.file);
    std::optional<ExportResult> result;
    {
      // On an exception the temporary file goes with `file`.
      detail::AtomicFile file(command.output);
      result = export_trace(reader, command.format, file.stream());
      file.commit();
    }
    warn_truncated(command.file, result->truncation, "export", err);
    return kExitOk;
  } catch (const TraceError& e) {
    err << "loopscope: error: " << command.file << ": " << e.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    err << "loopscope: error: " << command.output << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

int run_diff(const DiffCommand& command, std::ostream& out, std::ostream& err) {
  const auto load = [&](const std::string& file) {
    TraceReader reader(file);
    Report report = analyze(reader, {.slowest = 0});
    warn_truncated(file, report.truncation, "diff", err);
    return report;
  };
  std::string current = command.before;
  try {
    const Report before = load(command.before);
    current = command.after;
    const Report after = load(command.after);
    const DiffResult diff = diff_reports(before, after, command.threshold_pct);
    if (command.json) {
      render_diff_json(diff, out);
    } else {
      render_diff_text(diff, out, command.color);
    }
    out.flush();
    return diff.regressed() ? kExitRegressed : kExitOk;
  } catch (const std::exception& e) {
    err << "loopscope: error: " << current << ": " << e.what() << "\n";
    return kExitDiffError;
  }
}

}  // namespace loopscope::viewer
