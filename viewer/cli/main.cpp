// The `loopscope` command: reads `.lstrace` files. Exit codes: 0 success (a trace cut short
// still reports, with a warning on stderr), 1 an unreadable or corrupt trace, 2 a usage error.
#include <loopscope/viewer/report.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <unistd.h>

namespace {

namespace viewer = loopscope::viewer;

constexpr int kCorrupt = 1;
constexpr int kUsage = 2;

struct ReportArgs {
  std::string file;
  bool json = false;
  std::size_t top = 20;
};

int run_report(const ReportArgs& args) {
  try {
    viewer::TraceReader reader(args.file);
    const viewer::Report report = viewer::analyze(reader);
    if (report.truncation) {
      std::cerr << "loopscope: warning: " << args.file << ": " << report.truncation->reason
                << " (at byte " << report.truncation->offset
                << "); the report covers what was written before\n";
    }
    if (args.json) {
      viewer::render_json(report, std::cout);
    } else {
      // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread, nothing sets the environment.
      const bool color = ::isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
      viewer::render_text(report, std::cout, {.top = args.top, .color = color});
    }
    std::cout.flush();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "loopscope: error: " << args.file << ": " << e.what() << "\n";
    return kCorrupt;
  }
}

int run(int argc, char** argv) {
  CLI::App app{"Reads loopscope traces (.lstrace) and reports on them.", "loopscope"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "loopscope 0.1.0");

  ReportArgs report_args;
  CLI::App* report = app.add_subcommand(
      "report", "Summarize a trace: tasks, sites by busy time, loops, warnings, lag.");
  report->add_option("FILE", report_args.file, "the trace file")->required();
  report->add_flag("--json", report_args.json, "print one JSON object instead of text");
  report->add_option("--top", report_args.top, "how many sites the text report lists")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help, --version
    }
    std::cerr << "loopscope: error: " << e.what() << " (try --help)\n";
    return kUsage;
  }
  if (report->parsed()) {
    return run_report(report_args);
  }
  return kUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "loopscope: error: " << e.what() << "\n";
    return kCorrupt;
  }
}
