#include "synthetic_trace.hpp"
#include <loopscope/viewer/report.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <gtest/gtest.h>

#include <random>
#include <sstream>

namespace loopscope::viewer {
namespace {

using testing::append_raw_chunk;
using testing::synthetic_trace;
using testing::TempFile;
namespace fmt = probes::format;

// Writes one line per item, so two reads compare as strings.
class Log final : public TraceVisitor {
 public:
  std::ostringstream out;
  void on_header(const fmt::FileHeader& h) override {
    out << "header " << static_cast<int>(h.tick_source) << " " << h.start_unix_ns << " " << h.pid
        << "\n";
  }
  void on_clock_sync(std::span<const probes::ClockSync> points) override {
    for (const auto& p : points) {
      out << "sync " << p.ticks << " " << p.monotonic_ns << "\n";
    }
  }
  void on_thread(const fmt::ThreadInfo& t) override {
    out << "thread " << t.index << " " << t.os_tid << " " << t.name << "\n";
  }
  void on_string(std::uint64_t id, std::string_view text) override {
    out << "string " << id << " " << text << "\n";
  }
  void on_location(const fmt::Location& l) override {
    out << "location " << l.id << " " << l.address << " " << l.function << " " << l.file << " "
        << l.line << "\n";
  }
  void on_event(std::uint32_t thread, const fmt::Record& r) override {
    out << "event " << thread << " " << r.ticks << " " << static_cast<int>(r.kind) << " " << r.task
        << " " << r.arg << " " << r.f[0] << " " << r.f[1] << " " << r.f[2] << "\n";
  }
  void on_drops(const fmt::Drops& d) override {
    out << "drops " << d.thread << " " << d.count << " " << d.ticks_before << " " << d.ticks_after
        << "\n";
  }
  void on_warning(const fmt::WarningRecord& w) override {
    out << "warning " << w.thread << " " << w.ticks << " " << int{w.kind} << " " << w.task << " "
        << w.message << " " << w.frames.size() << "\n";
  }
  void on_task_name(const fmt::TaskName& n) override {
    out << "name " << n.thread << " " << n.task << " " << n.name << "\n";
  }
  void on_task_error(const fmt::TaskError& e) override {
    out << "error " << e.thread << " " << e.task << " " << e.message << "\n";
  }
  void on_end(const fmt::EndInfo& e) override {
    out << "end " << e.written << " " << e.dropped << "\n";
  }
  void on_truncated(std::uint64_t offset, std::string_view reason) override {
    out << "truncated " << offset << " " << reason << "\n";
  }
};

TEST(TraceReader, DeliversEveryItemOfEveryChunkTypeInFileOrder) {
  const fmt::Bytes bytes = synthetic_trace();
  TraceReader reader{std::span<const std::byte>(bytes)};
  Log log;
  const ReadResult result = reader.read(log);
  EXPECT_TRUE(result.complete);
  EXPECT_FALSE(result.truncation);
  EXPECT_EQ(result.events, testing::kSyntheticEvents);
  EXPECT_EQ(result.bytes, bytes.size());
  const std::string text = log.out.str();
  for (const char* expected :
       {"header 1 1700000000000000000 4321\n", "sync 100000 100000\n", "thread 1 1002 pool-0\n",
        "string 4 std::runtime_error\n", "location 4 4104 1 2 10\n", "event 0 14500 5 1 2 4 0 0\n",
        "event 0 1000 2 1 0 0 1 2\n", "drops 0 5 3960 4000\n", "event 1 9000 11 0 0 1 0 0\n",
        "warning 0 2600 0 2 task took 1 us 2\n", "name 0 2 second worker\n",
        "error 0 1 disk full\n", "end 23 5\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  }
  EXPECT_EQ(text.find("truncated"), std::string::npos);
}

TEST(TraceReader, AFileReadsTheSameAsTheSameBytesInMemoryAndCanBeReadTwice) {
  const fmt::Bytes bytes = synthetic_trace();
  const TempFile file("reader_same.lstrace", bytes);
  TraceReader from_file(file.path());
  TraceReader from_memory{std::span<const std::byte>(bytes)};
  Log a;
  Log b;
  Log c;
  from_file.read(a);
  from_memory.read(b);
  from_file.read(c);
  EXPECT_EQ(a.out.str(), b.out.str());
  EXPECT_EQ(a.out.str(), c.out.str());
}

// Logs the events from their batches, as Log does one by one.
class BatchLog final : public TraceVisitor {
 public:
  std::ostringstream out;
  std::size_t batches = 0, largest = 0;
  void on_events(std::uint32_t thread, std::span<const fmt::Record> events) override {
    ++batches;
    largest = std::max(largest, events.size());
    for (const fmt::Record& r : events) {
      out << "event " << thread << " " << r.ticks << " " << static_cast<int>(r.kind) << " "
          << r.task << " " << r.arg << " " << r.f[0] << " " << r.f[1] << " " << r.f[2] << "\n";
    }
  }
};

TEST(TraceReader, EventsArriveInBatchesOfOneThreadInTheirOrder) {
  fmt::Bytes bytes = synthetic_trace(false, false);
  std::vector<fmt::Record> events;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    events.push_back({1'000'000 + i * 10ull, probes::EventKind::kTaskResumed, i % 7, 0, {}});
  }
  fmt::append_events(bytes, 1, events);
  TraceReader reader{std::span<const std::byte>(bytes)};
  Log one_by_one;
  BatchLog batched;
  reader.read(one_by_one);
  const ReadResult result = reader.read(batched);
  EXPECT_EQ(result.events, testing::kSyntheticEvents + events.size());
  EXPECT_LE(batched.largest, TraceReader::kEventBatch);
  EXPECT_GE(batched.batches, events.size() / TraceReader::kEventBatch);
  std::string expected;
  std::istringstream lines(one_by_one.out.str());
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("event ")) {
      expected += line + "\n";
    }
  }
  EXPECT_EQ(batched.out.str(), expected);
}

// Skips the events chunks of thread 0, noting what their headers said.
class SkipThreadZero final : public TraceVisitor {
 public:
  std::ostringstream chunks;
  std::uint64_t events_of_zero = 0, events_of_others = 0;
  bool on_events_chunk(std::uint32_t thread, std::uint64_t count,
                       std::uint64_t first_ticks) override {
    chunks << thread << ":" << count << "@" << first_ticks << " ";
    return thread != 0;
  }
  void on_event(std::uint32_t thread, const fmt::Record& /*r*/) override {
    ++(thread == 0 ? events_of_zero : events_of_others);
  }
};

TEST(TraceReader, AVisitorCanSkipAnEventsChunkFromItsHeaderAlone) {
  fmt::Bytes bytes = synthetic_trace(false, false);
  std::vector<fmt::Record> events;
  for (std::uint32_t i = 0; i < 300; ++i) {
    events.push_back({5'000'000 + i * 10ull, probes::EventKind::kTaskResumed, i % 7, 0, {}});
  }
  fmt::append_events(bytes, 0, events);
  fmt::append_events(bytes, 7, std::span<const fmt::Record>(events).first(20));
  TraceReader reader{std::span<const std::byte>(bytes)};
  Log all;
  const ReadResult whole = reader.read(all);
  SkipThreadZero skipping;
  const ReadResult skipped = reader.read(skipping);
  EXPECT_EQ(skipping.events_of_zero, 0U);
  EXPECT_EQ(skipped.events + skipped.events_skipped, whole.events);
  EXPECT_EQ(skipped.events, skipping.events_of_others);
  EXPECT_GE(skipped.events_skipped, events.size());
  // The header of each chunk tells its thread, its count and its first event's ticks.
  EXPECT_NE(skipping.chunks.str().find("0:300@5000000 7:20@5000000 "), std::string::npos)
      << skipping.chunks.str();
}

// Counts what a big trace holds without keeping it.
class Tally final : public TraceVisitor {
 public:
  std::uint64_t events = 0, ticks = 0, string_bytes = 0;
  void on_event(std::uint32_t /*thread*/, const fmt::Record& r) override {
    ++events;
    ticks += r.ticks;
  }
  void on_string(std::uint64_t /*id*/, std::string_view text) override {
    string_bytes += text.size();
  }
};

TEST(TraceReader, AFileBiggerThanItsBufferWithAChunkBiggerThanTheBufferReadsWhole) {
  fmt::Bytes bytes;
  fmt::append_header(bytes, fmt::FileHeader{probes::TickSource::kMonotonicNs, 0, 1});
  const std::string big(1u << 20, 'x');
  const std::vector<std::pair<std::uint64_t, std::string_view>> strings(6, {1, big});
  fmt::append_strings(bytes, strings);  // one 6 MiB chunk
  std::vector<fmt::Record> events;
  for (std::uint64_t i = 0; i < 1'500'000; ++i) {
    events.push_back({1000 + i * 37,
                      probes::EventKind::kTaskResumed,
                      static_cast<std::uint32_t>(i % 1000),
                      0,
                      {}});
  }
  fmt::append_events(bytes, 0, events);
  fmt::append_end(bytes, events.size(), 0);
  const TempFile file("reader_big.lstrace", bytes);
  TraceReader from_file(file.path());
  TraceReader from_memory{std::span<const std::byte>(bytes)};
  Tally a;
  Tally b;
  EXPECT_TRUE(from_file.read(a).complete);
  EXPECT_TRUE(from_memory.read(b).complete);
  EXPECT_EQ(a.events, events.size());
  EXPECT_EQ(a.string_bytes, 6u << 20);
  EXPECT_EQ(a.ticks, b.ticks);
}

TEST(TraceReader, ATraceCutAnywhereInTheChunkStreamReadsUpToTheCut) {
  const fmt::Bytes bytes = synthetic_trace();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::span<const std::byte> prefix(bytes.data(), cut);
    TraceReader reader(prefix);
    Log log;
    if (cut < fmt::kHeaderSize) {
      EXPECT_THROW(reader.read(log), TraceError) << cut;
      continue;
    }
    ReadResult result;
    ASSERT_NO_THROW(result = reader.read(log)) << cut;
    ASSERT_TRUE(result.truncation) << cut;
    EXPECT_FALSE(result.complete);
    EXPECT_LE(result.truncation->offset, cut);
    EXPECT_EQ(result.truncation->offset, result.bytes);
    EXPECT_NE(log.out.str().find("truncated"), std::string::npos);
  }
}

TEST(TraceReader, ACutFileOnDiskStillReportsWhatWasWritten) {
  fmt::Bytes bytes = synthetic_trace();
  bytes.pop_back();  // inside the end chunk's payload
  const TempFile file("reader_cut.lstrace", bytes);
  TraceReader reader(file.path());
  const Report report = analyze(reader);
  ASSERT_TRUE(report.truncation);
  EXPECT_NE(report.truncation->reason.find("runs past the end"), std::string::npos);
  EXPECT_EQ(report.events, testing::kSyntheticEvents);
}

TEST(TraceReader, EveryBitFlipIsAnErrorOrATruncationNeverASilentSuccess) {
  const fmt::Bytes bytes = synthetic_trace();
  fmt::Bytes flipped = bytes;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      flipped[i] = bytes[i] ^ static_cast<std::byte>(1 << bit);
      TraceReader reader{std::span<const std::byte>(flipped)};
      try {
        const Report report = analyze(reader);
        EXPECT_TRUE(report.truncation) << "byte " << i << " bit " << bit;
      } catch (const TraceError& e) {
        EXPECT_NE(std::string(e.what()).find("byte"), std::string::npos) << e.what();
      }
    }
    flipped[i] = bytes[i];
  }
}

TEST(TraceReader, ErrorsNameTheChunkAndItsByteOffset) {
  fmt::Bytes bytes = synthetic_trace();
  const std::uint32_t first_length =
      fmt::decode_chunk_header(std::span(bytes).subspan(fmt::kHeaderSize).first<12>()).length;
  const std::size_t second_chunk = fmt::kHeaderSize + fmt::kChunkHeaderSize + first_length;
  bytes[second_chunk + fmt::kChunkHeaderSize] ^= std::byte{0x10};
  TraceReader reader{std::span<const std::byte>(bytes)};
  Log log;
  try {
    reader.read(log);
    FAIL() << "no error";
  } catch (const TraceError& e) {
    EXPECT_EQ(e.offset(), second_chunk);
    EXPECT_EQ(e.chunk_index(), 1u);
    const std::string expected =
        "chunk 1 (thread) at byte " + std::to_string(second_chunk) + ": CRC mismatch";
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(TraceReader, EmptyShortAndForeignFilesAreClearErrors) {
  const auto message = [](const fmt::Bytes& bytes) {
    TraceReader reader{std::span<const std::byte>(bytes)};
    Log log;
    try {
      reader.read(log);
    } catch (const TraceError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}).find("empty file"), std::string::npos);
  fmt::Bytes trace = synthetic_trace();
  EXPECT_NE(message(fmt::Bytes(trace.begin(), trace.begin() + 20)).find("too short"),
            std::string::npos);
  fmt::Bytes elf = trace;
  elf[0] = std::byte{0x7f};
  EXPECT_NE(message(elf).find("bad magic"), std::string::npos);
  fmt::Bytes v3 = trace;
  v3[8] = std::byte{3};
  EXPECT_NE(message(v3).find("unsupported trace format version 3"), std::string::npos);
  // Version 1 (version 2 without task_error chunks) is read like version 2.
  fmt::Bytes v1 = trace;
  v1[8] = std::byte{1};
  const std::uint32_t crc = fmt::crc32c(std::span<const std::byte>(v1).first(28));
  for (int i = 0; i < 4; ++i) {
    v1[28 + static_cast<std::size_t>(i)] = static_cast<std::byte>(crc >> (8 * i));
  }
  EXPECT_EQ(message(v1), "no error");
  const TempFile empty("reader_empty.lstrace");
  TraceReader empty_reader(empty.path());
  Log log;
  EXPECT_THROW(empty_reader.read(log), TraceError);
  EXPECT_THROW(TraceReader("/nonexistent/trace.lstrace"), TraceError);
  EXPECT_THROW(TraceReader(std::filesystem::temp_directory_path()), TraceError);
}

TEST(TraceReader, UnknownTypesOversizeLengthsAndUndecodablePayloadsAreErrors) {
  fmt::Bytes header;
  fmt::append_header(header, fmt::FileHeader{probes::TickSource::kTsc, 0, 1});
  for (const auto& [type, payload, length] :
       {std::tuple{std::uint8_t{42}, fmt::Bytes{}, 0u},
        std::tuple{std::uint8_t{5}, fmt::Bytes{}, fmt::kMaxChunkPayload + 1},
        std::tuple{std::uint8_t{9}, fmt::Bytes{std::byte{0x80}}, 0u},
        std::tuple{std::uint8_t{2}, fmt::Bytes{std::byte{1}, std::byte{2}, std::byte{9}}, 0u}}) {
    fmt::Bytes bytes = header;
    append_raw_chunk(bytes, type, payload, length);
    TraceReader reader{std::span<const std::byte>(bytes)};
    Log log;
    EXPECT_THROW(reader.read(log), TraceError) << int{type};
  }
}

TEST(TraceReader, RandomBytesAndRandomValidChunksNeverCrash) {
  std::mt19937_64 rng(42);
  fmt::Bytes header;
  fmt::append_header(header, fmt::FileHeader{probes::TickSource::kTsc, 0, 1});
  for (int round = 0; round < 3000; ++round) {
    fmt::Bytes bytes = round % 3 == 0 ? fmt::Bytes{} : header;
    const int chunks = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < chunks; ++c) {
      fmt::Bytes payload(rng() % 40);
      for (auto& b : payload) {
        b = static_cast<std::byte>(rng() % 4 == 0 ? rng() : rng() % 8);
      }
      if (round % 3 == 0) {
        bytes.insert(bytes.end(), payload.begin(), payload.end());
      } else {
        append_raw_chunk(bytes, static_cast<std::uint8_t>(1 + rng() % 9), payload);
      }
    }
    TraceReader reader{std::span<const std::byte>(bytes)};
    try {
      (void)analyze(reader);
    } catch (const TraceError&) {
      // The outcome that matters is that there is one, cleanly.
    }
  }
}

TEST(TraceReader, BytesAfterTheEndChunkAreCountedAndIgnored) {
  fmt::Bytes bytes = synthetic_trace();
  bytes.push_back(std::byte{0xee});
  TraceReader reader{std::span<const std::byte>(bytes)};
  Log log;
  const ReadResult result = reader.read(log);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.trailing_bytes, 1u);
}

}  // namespace
}  // namespace loopscope::viewer
