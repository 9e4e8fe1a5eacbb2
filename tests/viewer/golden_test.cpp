// Golden tests: the report (text and JSON), the diff and the Chrome export of the program
// trace, compared with the files under tests/golden/viewer/ after normalizing line ends and
// trailing blanks. After an intended change, regenerate them with
//   LOOPSCOPE_UPDATE_GOLDEN=1 ctest --test-dir build/release -R Golden
// and review the difference like code.
#include "program_trace.hpp"
#include <loopscope/viewer/diff.hpp>
#include <loopscope/viewer/export.hpp>
#include <loopscope/viewer/report.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace loopscope::viewer {
namespace {

std::string normalize(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

void expect_golden(const std::string& name, const std::string& actual) {
  const std::filesystem::path path = std::filesystem::path(LOOPSCOPE_GOLDEN_DIR) / name;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests do not set the environment.
  if (const char* update = std::getenv("LOOPSCOPE_UPDATE_GOLDEN");
      update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << normalize(actual);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(normalize(actual), normalize(expected.str())) << "differs from " << path;
}

Report report_of(const probes::format::Bytes& bytes) {
  TraceReader reader{std::span<const std::byte>(bytes)};
  return analyze(reader);
}

TEST(Golden, ReportText) {
  std::ostringstream out;
  render_text(report_of(testing::program_trace()), out, {.top = 5});
  expect_golden("program_report.txt", out.str());
}

TEST(Golden, ReportJson) {
  std::ostringstream out;
  render_json(report_of(testing::program_trace()), out);
  expect_golden("program_report.json", out.str());
}

TEST(Golden, DiffText) {
  std::ostringstream out;
  render_diff_text(diff_reports(report_of(testing::program_trace()),
                                report_of(testing::program_trace({200'000, 2}))),
                   out);
  expect_golden("program_diff.txt", out.str());
}

TEST(Golden, ChromeExport) {
  const probes::format::Bytes bytes = testing::program_trace();
  TraceReader reader{std::span<const std::byte>(bytes)};
  std::ostringstream out;
  export_trace(reader, ExportFormat::kChrome, out);
  expect_golden("program_chrome.json", out.str());
}

TEST(Golden, SpeedscopeExport) {
  const probes::format::Bytes bytes = testing::program_trace();
  TraceReader reader{std::span<const std::byte>(bytes)};
  std::ostringstream out;
  export_trace(reader, ExportFormat::kSpeedscope, out);
  expect_golden("program_speedscope.json", out.str());
}

}  // namespace
}  // namespace loopscope::viewer
