// Runs the `loopscope` binary as a user would and checks exit codes, streams and JSON.
#include "program_trace.hpp"
#include "synthetic_trace.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>
#include <vector>

namespace loopscope::viewer {
namespace {

using testing::synthetic_trace;
using testing::TempFile;
namespace fmt = probes::format;

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

CliResult run(const std::string& args) {
  const TempFile out("cli_stdout");
  const TempFile err("cli_stderr");
  const std::string command = std::string(LOOPSCOPE_CLI) + " " + args + " >" + out.path().string() +
                              " 2>" + err.path().string();
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out.path());
  r.err = slurp(err.path());
  return r;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Cli, ReportJsonHasTheDocumentedFieldsWithExactValues) {
  const TempFile trace("cli_json.lstrace", synthetic_trace());
  const CliResult r = run("report --json " + trace.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tasks"]["created"], 4);
  EXPECT_EQ(j["tasks"]["completed"], 1);
  EXPECT_EQ(j["tasks"]["failed"], 1);
  EXPECT_EQ(j["tasks"]["cancelled"], 1);
  EXPECT_EQ(j["events"], testing::kSyntheticEvents);
  EXPECT_EQ(j["dropped"], testing::kSyntheticDropped);
  ASSERT_EQ(j["sites"].size(), 2u);
  const auto& site = j["sites"][0];
  EXPECT_EQ(site["function"], "worker");
  EXPECT_EQ(site["file"], "main.cpp");
  EXPECT_EQ(site["line"], 42);
  EXPECT_EQ(site["tasks"], 3);
  EXPECT_EQ(site["resumes"], 5);
  EXPECT_EQ(site["busy_ns"], 2050);
  EXPECT_EQ(site["max_step_ns"], 1000);
  ASSERT_EQ(j["warnings"].size(), 3u);
  for (const char* field : {"kind", "message", "function", "file", "line"}) {
    EXPECT_TRUE(j["warnings"][0].contains(field)) << field;
  }
  EXPECT_EQ(j["warnings"][0]["kind"], "slow_callback");
  EXPECT_EQ(j["lag"]["samples"], 3);
  EXPECT_EQ(j["lag"]["p50_ns"], 200);
  EXPECT_EQ(j["lag"]["p99_ns"], 300);
  EXPECT_EQ(j["lag"]["max_ns"], 300);
  ASSERT_EQ(j["loops"].size(), 1u);
  EXPECT_EQ(j["loops"][0]["thread"], 0);
  EXPECT_EQ(j["loops"][0]["busy_ns"], 4000);
  EXPECT_EQ(j["loops"][0]["idle_ns"], 10000);
}

TEST(Cli, ReportTextGoesToStdoutWithoutColoursWhenNotATerminal) {
  const TempFile trace("cli_text.lstrace", synthetic_trace());
  const CliResult r = run("report --top 1 " + trace.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Sites by busy time (top 1 of 2)"), std::string::npos);
  EXPECT_EQ(r.out.find('\033'), std::string::npos);
}

TEST(Cli, HelpWorksAtEveryLevel) {
  for (const char* args : {"--help", "report --help"}) {
    const CliResult r = run(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    EXPECT_NE(r.out.find("report"), std::string::npos) << args;
  }
  EXPECT_NE(run("report --help").out.find("--json"), std::string::npos);
}

TEST(Cli, UsageErrorsPrintOneLineAndExitWithTwo) {
  for (const char* args : {"", "frobnicate", "report", "report --bogus x.lstrace",
                           "report --top 0 x.lstrace", "report --top many x.lstrace"}) {
    const CliResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(lines(r.err), 1u) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("loopscope: error: ", 0), 0u) << r.err;
  }
}

TEST(Cli, AMissingOrCorruptFileIsOneLineAndExitCodeOne) {
  const CliResult missing = run("report /nonexistent/x.lstrace");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(lines(missing.err), 1u) << missing.err;
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;

  fmt::Bytes bytes = synthetic_trace();
  bytes[bytes.size() / 2] ^= std::byte{0x40};
  const TempFile corrupt("cli_corrupt.lstrace", bytes);
  const CliResult bad = run("report --json " + corrupt.path().string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(lines(bad.err), 1u) << bad.err;
  EXPECT_NE(bad.err.find("chunk"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "");
}

TEST(Cli, ATruncatedTraceStillReportsWithAWarning) {
  fmt::Bytes bytes = synthetic_trace();
  bytes.erase(bytes.end() - 5, bytes.end());
  const TempFile cut("cli_cut.lstrace", bytes);
  const CliResult r = run("report --json " + cut.path().string());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("loopscope: warning:"), std::string::npos) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["trace"]["complete"]);
  EXPECT_EQ(j["events"], testing::kSyntheticEvents);
}

TEST(Cli, EveryCommandHasHelpNamingItsOptions) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"report --help", {"--json", "--top", "--sort"}},
      {"export --help", {"--format", "--output", "perfetto", "chrome", "speedscope"}},
      {"diff --help", {"--threshold", "--json"}},
      {"--help", {"report", "export", "diff"}}};
  for (const auto& [args, words] : expected) {
    const CliResult r = run(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    for (const std::string& word : words) {
      EXPECT_NE(r.out.find(word), std::string::npos) << args << ": " << word;
    }
  }
}

TEST(Cli, UsageErrorsOfExportAndDiffAreOneLineAndExitTwo) {
  for (const char* args :
       {"export", "export --format pprof x.lstrace -o y", "export x.lstrace -o y",
        "export --format chrome x.lstrace", "diff a.lstrace", "diff --threshold -5 a b",
        "report --sort colour x.lstrace"}) {
    const CliResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(lines(r.err), 1u) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("loopscope: error: ", 0), 0u) << r.err;
  }
}

TEST(Cli, ExportOfAMissingOrCorruptTraceFailsAndWritesNothing) {
  const TempFile out("cli_export_out.json");
  std::filesystem::remove(out.path());
  const CliResult missing =
      run("export --format chrome /nonexistent/x.lstrace -o " + out.path().string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(lines(missing.err), 1u) << missing.err;
  fmt::Bytes bytes = testing::program_trace();
  bytes[bytes.size() / 2] ^= std::byte{0x40};
  const TempFile corrupt("cli_export_corrupt.lstrace", bytes);
  const CliResult bad =
      run("export -f perfetto " + corrupt.path().string() + " -o " + out.path().string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(lines(bad.err), 1u) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(out.path()));
  EXPECT_FALSE(std::filesystem::exists(out.path().string() + ".tmp"));
}

TEST(Cli, ExportWritesEachFormat) {
  const TempFile trace("cli_export.lstrace", testing::program_trace());
  for (const char* format : {"perfetto", "chrome", "speedscope"}) {
    const TempFile out(std::string("cli_export.") + format);
    const CliResult r = run(std::string("export --format ") + format + " " + trace.path().string() +
                            " -o " + out.path().string());
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.err;
    EXPECT_EQ(r.out + r.err, "") << format;
    EXPECT_GT(std::filesystem::file_size(out.path()), 500u) << format;
  }
}

TEST(Cli, DiffExitStatusIsZeroOneOrTwo) {
  const TempFile a("cli_diff_a.lstrace", testing::program_trace());
  const TempFile b("cli_diff_b.lstrace", testing::program_trace({200'000, 2}));
  EXPECT_EQ(run("diff " + a.path().string() + " " + a.path().string()).exit_code, 0);
  const CliResult worse = run("diff " + a.path().string() + " " + b.path().string());
  EXPECT_EQ(worse.exit_code, 1);
  EXPECT_NE(worse.out.find("Worse"), std::string::npos) << worse.out;
  EXPECT_EQ(run("diff --threshold 150 " + a.path().string() + " " + b.path().string()).exit_code,
            0);
  const CliResult json = run("diff --json " + a.path().string() + " " + b.path().string());
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_TRUE(nlohmann::json::parse(json.out)["regressed"]);
  const CliResult missing = run("diff " + a.path().string() + " /nonexistent.lstrace");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(lines(missing.err), 1u) << missing.err;
}

TEST(Cli, ReportSortsSitesAndKeepsTheNewJsonFields) {
  const TempFile trace("cli_sort.lstrace", testing::program_trace());
  const CliResult text = run("report --sort idle --top 2 " + trace.path().string());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Sites by idle time (top 2 of 4)"), std::string::npos) << text.out;
  const CliResult json = run("report --json --sort name " + trace.path().string());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["sites"][0]["function"], "(anonymous namespace)::fetch(std::string)");
  for (const char* field : {"idle_ns", "scheduled_ns", "completed", "failed", "cancelled"}) {
    EXPECT_TRUE(j["sites"][0].contains(field)) << field;
  }
  EXPECT_EQ(j["lag"]["p90_ns"], 60'000);
  EXPECT_FALSE(j["lag"]["histogram"].empty());
  EXPECT_FALSE(j["slowest_steps"].empty());
  EXPECT_FALSE(j["waits"].empty());
  EXPECT_EQ(j["loops"].size(), 2u);
}

}  // namespace
}  // namespace loopscope::viewer
