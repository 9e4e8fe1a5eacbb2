// export_trace() in process and `loopscope export`'s file handling. The exports are read
// back by other tools in check_exports.py; these tests cover what holds across formats.
#include "program_trace.hpp"
#include "synthetic_trace.hpp"
#include <loopscope/viewer/commands.hpp>
#include <loopscope/viewer/export.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace loopscope::viewer {
namespace {

namespace fmt = probes::format;
using testing::TempFile;

std::string export_bytes(const fmt::Bytes& trace, ExportFormat format,
                         ExportResult* result = nullptr) {
  TraceReader reader{std::span<const std::byte>(trace)};
  std::ostringstream out;
  const ExportResult r = export_trace(reader, format, out);
  if (result != nullptr) {
    *result = r;
  }
  return out.str();
}

constexpr std::array<ExportFormat, 3> kFormats = {ExportFormat::kPerfetto, ExportFormat::kChrome,
                                                  ExportFormat::kSpeedscope};

TEST(Export, FormatsParseByTheirNames) {
  EXPECT_EQ(parse_export_format("perfetto"), ExportFormat::kPerfetto);
  EXPECT_EQ(parse_export_format("chrome"), ExportFormat::kChrome);
  EXPECT_EQ(parse_export_format("speedscope"), ExportFormat::kSpeedscope);
  EXPECT_FALSE(parse_export_format("pprof"));
  EXPECT_FALSE(parse_export_format(""));
}

TEST(Export, CountsWhatItWrote) {
  ExportResult r;
  export_bytes(testing::program_trace(), ExportFormat::kChrome, &r);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.events, 56u);
  EXPECT_EQ(r.slices, 12u);
  EXPECT_EQ(r.tasks, 5u);
}

TEST(Export, AnExportIsTheSameEveryTime) {
  for (const ExportFormat f : kFormats) {
    EXPECT_EQ(export_bytes(testing::program_trace(), f), export_bytes(testing::program_trace(), f));
  }
}

// The failed task's end carries its exception's type and message in the timeline exports
// (an "exception" arg in Chrome's JSON, a debug annotation on the slice end in Perfetto's).
TEST(Export, AFailedTasksEndSaysWhatItsExceptionSaid) {
  const std::string failure = "std::runtime_error: fetch failed: connection refused";
  EXPECT_NE(export_bytes(testing::program_trace(), ExportFormat::kPerfetto).find(failure),
            std::string::npos);
  const std::string chrome = export_bytes(testing::program_trace(), ExportFormat::kChrome);
  EXPECT_NE(chrome.find(R"("args":{"state":"failed","exception":")" + failure + "\""),
            std::string::npos);
  const std::string key = R"("exception":)";
  EXPECT_EQ(chrome.find(key, chrome.find(key) + 1), std::string::npos);  // the failed task only
}

TEST(Export, ATscTraceExportsTheSameTimesAsItsNanosecondTwin) {
  // synthetic_trace(true) counts two ticks per nanosecond; its clock_sync points say so.
  for (const ExportFormat f : kFormats) {
    EXPECT_EQ(export_bytes(testing::synthetic_trace(true), f),
              export_bytes(testing::synthetic_trace(false), f));
  }
}

TEST(Export, ATruncatedTraceExportsWhatWasWritten) {
  fmt::Bytes bytes = testing::program_trace();
  bytes.resize(bytes.size() - 3);
  ExportResult r;
  const std::string json = export_bytes(bytes, ExportFormat::kChrome, &r);
  EXPECT_FALSE(r.complete);
  ASSERT_TRUE(r.truncation);
  const nlohmann::json doc = nlohmann::json::parse(json);
  EXPECT_GT(doc["traceEvents"].size(), 10u);
}

TEST(Export, ACorruptTraceThrowsATraceError) {
  fmt::Bytes bytes = testing::program_trace();
  bytes[bytes.size() / 2] ^= std::byte{0x10};
  for (const ExportFormat f : kFormats) {
    EXPECT_THROW(export_bytes(bytes, f), TraceError);
  }
}

TEST(Export, EventsThatPassTheirChecksumButDoNotDecodeFailEveryFormat) {
  // The Perfetto export's first pass reads only the events chunks' headers: the second,
  // which decodes them, must still refuse the chunk.
  fmt::Bytes bytes = testing::synthetic_trace(false, false);
  const fmt::Bytes payload{std::byte{0}, std::byte{1}, std::byte{100}, std::byte{0x1f},
                           std::byte{0}};  // thread 0, one event at 100 of kind 31
  testing::append_raw_chunk(bytes, static_cast<std::uint8_t>(fmt::ChunkType::kEvents), payload);
  fmt::append_end(bytes, 0, 0);
  for (const ExportFormat f : kFormats) {
    EXPECT_THROW(export_bytes(bytes, f), TraceError) << static_cast<int>(f);
  }
}

TEST(Export, ATraceWithoutStepsStillGivesSpeedscopeAProfile) {
  fmt::Bytes bytes;
  fmt::append_header(bytes, {probes::TickSource::kMonotonicNs, 0, 1});
  fmt::append_end(bytes, 0, 0);
  const nlohmann::json doc = nlohmann::json::parse(export_bytes(bytes, ExportFormat::kSpeedscope));
  ASSERT_EQ(doc["profiles"].size(), 1u);
  EXPECT_TRUE(doc["profiles"][0]["events"].empty());
  EXPECT_TRUE(nlohmann::json::accept(export_bytes(bytes, ExportFormat::kChrome)));
}

TEST(Export, JsonStringsSurviveControlCharactersAndBrokenUtf8) {
  fmt::Bytes bytes = testing::synthetic_trace();
  fmt::append_warning(bytes,
                      fmt::WarningRecord{0, 15'000, 1, 0, "a \"quoted\"\n\x01 \xff end", {}});
  for (const ExportFormat f : {ExportFormat::kChrome, ExportFormat::kSpeedscope}) {
    EXPECT_TRUE(nlohmann::json::accept(export_bytes(bytes, f)));
  }
}

TEST(Export, RandomEventsInValidChunksExportBalanced) {
  // Hostile but well-formed traces: any kind on any thread, tasks resumed twice or never
  // created, ends without beginnings, unknown locations and names, huge fields.
  std::mt19937_64 rng(42);
  for (int round = 0; round < 50; ++round) {
    fmt::Bytes bytes;
    fmt::append_header(bytes, {probes::TickSource::kTsc, 0, 9});
    const std::vector<probes::ClockSync> sync = {{rng() % 1000, 5}, {1'000'000, 500'000}};
    fmt::append_clock_sync(bytes, sync);
    for (int chunk = 0; chunk < 4; ++chunk) {
      std::vector<fmt::Record> events;
      std::uint64_t ticks = rng() % 100'000;
      for (int i = 0; i < 300; ++i) {
        ticks += rng() % 1000;
        const auto kind = static_cast<probes::EventKind>(
            rng() % static_cast<std::uint64_t>(probes::EventKind::kCount));
        events.push_back(
            fmt::Record{ticks,
                        kind,
                        static_cast<std::uint32_t>(rng() % 8),
                        static_cast<std::uint16_t>(rng() % 20),
                        {rng() % 10, rng() % 4 == 0 ? rng() : rng() % 10, rng() % 10}});
      }
      fmt::append_events(bytes, static_cast<std::uint32_t>(rng() % 3), events);
      fmt::append_drops(bytes, static_cast<std::uint32_t>(rng() % 3), 1, ticks, ticks + 5);
    }
    fmt::append_end(bytes, 1200, 4);
    const nlohmann::json chrome = nlohmann::json::parse(export_bytes(bytes, ExportFormat::kChrome));
    EXPECT_GT(chrome["traceEvents"].size(), 0u);
    const nlohmann::json speedscope =
        nlohmann::json::parse(export_bytes(bytes, ExportFormat::kSpeedscope));
    for (const auto& profile : speedscope["profiles"]) {
      int depth = 0;
      std::uint64_t last = 0;
      for (const auto& e : profile["events"]) {
        depth += e["type"] == "O" ? 1 : -1;
        ASSERT_GE(depth, 0);
        ASSERT_LE(depth, 1);  // steps never nest
        ASSERT_GE(e["at"].get<std::uint64_t>(), last);
        last = e["at"].get<std::uint64_t>();
      }
      EXPECT_EQ(depth, 0);
    }
    EXPECT_FALSE(export_bytes(bytes, ExportFormat::kPerfetto).empty());
  }
}

// ---- the command: files appear whole or not at all ----

std::filesystem::path temp_of(const std::filesystem::path& out) {
  return {out.string() + ".tmp"};
}

TEST(ExportCommand, WritesTheFileAndLeavesNoTemporaryBehind) {
  const TempFile trace("export_ok.lstrace", testing::program_trace());
  const TempFile out("export_ok.json");
  std::ostringstream err;
  EXPECT_EQ(run_export({trace.path().string(), out.path().string(), ExportFormat::kChrome}, err),
            kExitOk);
  EXPECT_EQ(err.str(), "");
  EXPECT_GT(std::filesystem::file_size(out.path()), 100u);
  EXPECT_FALSE(std::filesystem::exists(temp_of(out.path())));
}

TEST(ExportCommand, ACorruptTraceLeavesTheOldOutputAndNoTemporary) {
  fmt::Bytes bytes = testing::program_trace();
  bytes[bytes.size() / 2] ^= std::byte{0x10};
  const TempFile trace("export_corrupt.lstrace", bytes);
  const TempFile out("export_corrupt.json",
                     fmt::Bytes{std::byte{'o'}, std::byte{'l'}, std::byte{'d'}});
  for (const ExportFormat f : kFormats) {
    std::ostringstream err;
    EXPECT_EQ(run_export({trace.path().string(), out.path().string(), f}, err), kExitFailure);
    const std::string message = err.str();
    EXPECT_NE(message.find("chunk"), std::string::npos) << message;
    EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1);
    EXPECT_EQ(std::filesystem::file_size(out.path()), 3u);
    EXPECT_FALSE(std::filesystem::exists(temp_of(out.path())));
  }
}

TEST(ExportCommand, AMissingTraceCreatesNothing) {
  const TempFile out("export_missing.json");
  std::filesystem::remove(out.path());
  std::ostringstream err;
  EXPECT_EQ(
      run_export({"/nonexistent/x.lstrace", out.path().string(), ExportFormat::kPerfetto}, err),
      kExitFailure);
  EXPECT_NE(err.str().find("cannot open"), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(out.path()));
  EXPECT_FALSE(std::filesystem::exists(temp_of(out.path())));
}

TEST(ExportCommand, AnUnwritableOutputIsAnErrorNamingIt) {
  const TempFile trace("export_unwritable.lstrace", testing::program_trace());
  std::ostringstream err;
  EXPECT_EQ(
      run_export({trace.path().string(), "/nonexistent/dir/out.json", ExportFormat::kChrome}, err),
      kExitFailure);
  const std::string message = err.str();
  EXPECT_NE(message.find("/nonexistent/dir/out.json"), std::string::npos) << message;
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1);
}

TEST(ExportCommand, ADeviceIsWrittenInPlaceNotReplaced) {
  const TempFile trace("export_devnull.lstrace", testing::program_trace());
  std::ostringstream err;
  EXPECT_EQ(run_export({trace.path().string(), "/dev/null", ExportFormat::kPerfetto}, err), kExitOk)
      << err.str();
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  EXPECT_FALSE(std::filesystem::exists("/dev/null.tmp"));
}

}  // namespace
}  // namespace loopscope::viewer
