// The `loopscope` subcommands as functions. The command line (viewer/cli/main.cpp, CLI11)
// fills the option structs and calls these; each writes its output and its one-line errors
// to the streams given and returns the process's exit status.
//
// Exit statuses: report and export return 0 on success (a trace cut short still counts, with
// a warning), 1 when a trace is missing, unreadable or corrupt or the output cannot be
// written. diff returns 0 when nothing got worse beyond the threshold, 1 when something did,
// 2 on any error. Usage errors (from the command line parser) are 2 everywhere.
#pragma once

#include <loopscope/viewer/export.hpp>

#include <cstddef>
#include <ostream>
#include <string>

namespace loopscope::viewer {

inline constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;
inline constexpr int kExitRegressed = 1, kExitDiffError = 2;

struct ReportCommand {
  std::string file;
  bool json = false;
  std::size_t top = 20;
  std::string sort = "busy";
  bool color = false;
};
int run_report(const ReportCommand& command, std::ostream& out, std::ostream& err);

struct ExportCommand {
  std::string file;
  std::string output;
  ExportFormat format = ExportFormat::kPerfetto;
};
// Writes to `output` + ".tmp" and renames it to `output` only when everything was written;
// on any error the temporary file is removed and `output` is left as it was.
int run_export(const ExportCommand& command, std::ostream& err);

struct DiffCommand {
  std::string before, after;
  double threshold_pct = 10;
  bool json = false;
  bool color = false;
};
int run_diff(const DiffCommand& command, std::ostream& out, std::ostream& err);

}  // namespace loopscope::viewer
