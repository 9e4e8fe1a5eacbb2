// The `loopscope` command: parses the command line and hands over to the subcommands in
// viewer/src/commands.cpp. Exit codes are documented in loopscope/viewer/commands.hpp.
#include <loopscope/viewer/commands.hpp>
#include <loopscope/viewer/report.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace viewer = loopscope::viewer;

// Colours only on a terminal, and never with NO_COLOR set (https://no-color.org).
bool color_stdout() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread, nothing sets the environment.
  return ::isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
}

CLI::App* add_report(CLI::App& app, viewer::ReportCommand& args) {
  CLI::App* cmd = app.add_subcommand(
      "report", "Explain a trace: loops, tasks by site, slowest steps, warnings, lag, waits.");
  cmd->add_option("FILE", args.file, "the trace file (.lstrace)")->required();
  cmd->add_flag("--json", args.json, "print one JSON object instead of text");
  cmd->add_option("--top", args.top, "how many sites and slow steps the text report lists")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::vector<std::string> keys(viewer::kSiteSortKeys.begin(), viewer::kSiteSortKeys.end());
  cmd->add_option("--sort", args.sort, "order of the sites table")
      ->check(CLI::IsMember(keys))
      ->capture_default_str();
  return cmd;
}

CLI::App* add_export(CLI::App& app, viewer::ExportCommand& args, std::string& format) {
  CLI::App* cmd = app.add_subcommand(
      "export", "Convert a trace for Perfetto (ui.perfetto.dev), chrome://tracing or speedscope.");
  const std::vector<std::string> formats(viewer::kExportFormatNames.begin(),
                                         viewer::kExportFormatNames.end());
  cmd->add_option("-f,--format", format, "perfetto, chrome or speedscope")
      ->required()
      ->check(CLI::IsMember(formats));
  cmd->add_option("FILE", args.file, "the trace file (.lstrace)")->required();
  cmd->add_option("-o,--output", args.output, "the file to write (replaced only on success)")
      ->required();
  return cmd;
}

CLI::App* add_diff(CLI::App& app, viewer::DiffCommand& args) {
  CLI::App* cmd = app.add_subcommand(
      "diff", "Compare two traces by site; exit status 0: nothing worse, 1: worse, 2: error.");
  cmd->add_option("A", args.before, "the first (baseline) trace")->required();
  cmd->add_option("B", args.after, "the second trace")->required();
  cmd->add_option("--threshold", args.threshold_pct,
                  "percent a value may grow before it counts as worse")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--json", args.json, "print one JSON object instead of text");
  return cmd;
}

int run(int argc, char** argv) {
  CLI::App app{"Reads loopscope traces (.lstrace): reports, exports and compares them.",
               "loopscope"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "loopscope 0.1.0");
  viewer::ReportCommand report_args;
  viewer::ExportCommand export_args;
  viewer::DiffCommand diff_args;
  std::string format;
  const CLI::App* report = add_report(app, report_args);
  const CLI::App* exporter = add_export(app, export_args, format);
  const CLI::App* diff = add_diff(app, diff_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help, --version
    }
    std::cerr << "loopscope: error: " << e.what() << " (try --help)\n";
    return viewer::kExitUsage;
  }
  if (report->parsed()) {
    report_args.color = color_stdout();
    return viewer::run_report(report_args, std::cout, std::cerr);
  }
  if (exporter->parsed()) {
    export_args.format = *viewer::parse_export_format(format);  // checked by IsMember
    return viewer::run_export(export_args, std::cerr);
  }
  if (diff->parsed()) {
    diff_args.color = color_stdout();
    return viewer::run_diff(diff_args, std::cout, std::cerr);
  }
  return viewer::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "loopscope: error: " << e.what() << "\n";
    return viewer::kExitFailure;
  }
}
