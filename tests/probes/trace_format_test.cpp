#include <loopscope/probes/trace_format.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>

namespace loopscope::probes::format {
namespace {

struct Chunk {
  ChunkHeader header;
  std::span<const std::byte> bytes;  // header and payload
  std::span<const std::byte> payload;
};

// Splits a chunk stream (no file header) into chunks, checking the framing.
std::vector<Chunk> chunks_of(const Bytes& data, std::size_t from = 0) {
  std::vector<Chunk> out;
  std::size_t at = from;
  while (at < data.size()) {
    EXPECT_GE(data.size() - at, kChunkHeaderSize);
    const std::span<const std::byte> rest(data.data() + at, data.size() - at);
    const ChunkHeader h = decode_chunk_header(rest.first<kChunkHeaderSize>());
    EXPECT_LE(kChunkHeaderSize + h.length, rest.size());
    const auto bytes = rest.first(kChunkHeaderSize + h.length);
    out.push_back(Chunk{h, bytes, bytes.subspan(kChunkHeaderSize)});
    at += bytes.size();
  }
  return out;
}

std::vector<Record> decode_all(const Bytes& data, std::uint32_t expected_thread) {
  std::vector<Record> out;
  for (const Chunk& c : chunks_of(data)) {
    EXPECT_EQ(c.header.type, static_cast<std::uint8_t>(ChunkType::kEvents));
    std::uint32_t thread = 0;
    decode_events(c.payload, thread, [&](const Record& r) { out.push_back(r); });
    EXPECT_EQ(thread, expected_thread);
  }
  return out;
}

bool same(const Record& a, const Record& b) {
  return a.ticks == b.ticks && a.kind == b.kind && a.task == b.task && a.arg == b.arg &&
         std::memcmp(a.f, b.f, sizeof(a.f)) == 0;
}

Bytes bytes_of(std::initializer_list<int> values) {
  Bytes out;
  for (const int v : values) {
    out.push_back(static_cast<std::byte>(v));
  }
  return out;
}

TEST(TraceVarint, RoundTripsAtEveryLengthBoundary) {
  const std::vector<std::pair<std::uint64_t, std::size_t>> cases = {{0, 1},
                                                                    {1, 1},
                                                                    {127, 1},
                                                                    {128, 2},
                                                                    {16383, 2},
                                                                    {16384, 3},
                                                                    {UINT32_MAX, 5},
                                                                    {1ull << 35, 6},
                                                                    {1ull << 63, 10},
                                                                    {UINT64_MAX, 10},
                                                                    {(1ull << 63) - 1, 9}};
  for (const auto& [value, length] : cases) {
    Bytes out;
    put_varint(out, value);
    EXPECT_EQ(out.size(), length) << value;
    ByteReader in(out);
    EXPECT_EQ(in.varint(), value);
    EXPECT_TRUE(in.empty());
  }
}

TEST(TraceVarint, RejectsElevenBytesAnOverflowingTenthByteAndACutVarint) {
  const Bytes eleven = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0});
  EXPECT_THROW(ByteReader(eleven).varint(), FormatError);
  const Bytes overflow = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  EXPECT_THROW(ByteReader(overflow).varint(), FormatError);
  const Bytes cut = bytes_of({0x80, 0x80});
  try {
    ByteReader(cut).varint();
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.offset(), 2u);
  }
}

TEST(TraceVarint, ZigzagMapsSmallMagnitudesToSmallCodesAndRoundTripsTheExtremes) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-64), 127u);
  for (const std::int64_t v : {std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max(), std::int64_t{-12345}}) {
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
  }
}

TEST(TraceByteReader, ReadsFixedWidthLittleEndianAndBoundsChecksStrings) {
  const Bytes data = bytes_of({0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 5, 'h', 'i'});
  ByteReader in(data);
  EXPECT_EQ(in.u16(), 0x1234u);
  EXPECT_EQ(in.u32(), 0x12345678u);
  EXPECT_THROW(in.string(), FormatError);  // claims 5 bytes, 2 left
}

TEST(TraceCrc32c, MatchesTheStandardCheckValue) {
  const std::string_view check = "123456789";
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(check.data()),
                                         check.size());
  EXPECT_EQ(crc32c(bytes), 0xE3069283u);
  EXPECT_EQ(detail::crc32c_portable(bytes), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
}

TEST(TraceCrc32c, HardwareAndPortablePathsAgreeAndExtendComposes) {
  std::mt19937_64 rng(7);
  Bytes data(1000);
  for (auto& b : data) {
    b = static_cast<std::byte>(rng());
  }
  for (std::size_t n = 0; n < data.size(); n += 37) {
    const std::span<const std::byte> s(data.data(), n);
    EXPECT_EQ(crc32c(s), detail::crc32c_portable(s)) << n;
    EXPECT_EQ(crc32c_extend(crc32c(s.first(n / 3)), s.subspan(n / 3)), crc32c(s)) << n;
  }
}

TEST(TraceCrc32c, LongBuffersTakeTheInterleavedPathsAndAgreeWithThePortableOne) {
  std::mt19937_64 rng(11);
  Bytes data(3 * 8192 * 2 + 3 * 256 * 3 + 77);
  for (auto& b : data) {
    b = static_cast<std::byte>(rng());
  }
  for (const std::size_t offset : {0, 1, 5}) {
    for (const std::size_t n : {std::size_t{768}, std::size_t{24576}, data.size() - 5}) {
      const std::span<const std::byte> s(data.data() + offset, n);
      EXPECT_EQ(crc32c(s), detail::crc32c_portable(s)) << offset << " " << n;
    }
  }
}

TEST(TraceHeader, RoundTripsAndRejectsBadMagicVersionAndChecksum) {
  Bytes out;
  append_header(out, FileHeader{TickSource::kTsc, 1'700'000'000'000'000'000u, 4242});
  ASSERT_EQ(out.size(), kHeaderSize);
  std::uint32_t size = 0;
  const FileHeader h = decode_header(out, size);
  EXPECT_EQ(h.tick_source, TickSource::kTsc);
  EXPECT_EQ(h.start_unix_ns, 1'700'000'000'000'000'000u);
  EXPECT_EQ(h.pid, 4242u);
  EXPECT_EQ(size, kHeaderSize);
  for (const std::size_t at : {0u, 8u, 16u, 28u}) {
    Bytes bad = out;
    bad[at] ^= std::byte{1};
    EXPECT_THROW(decode_header(bad, size), FormatError) << at;
  }
}

std::vector<Record> every_kind() {
  std::vector<Record> events;
  std::uint64_t t = 1'000'000;
  std::uint32_t task = 7;
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < static_cast<int>(EventKind::kCount); ++k) {
      const auto kind = static_cast<EventKind>(k);
      Record r{
          t += 13 + 1000 * round, kind, task, static_cast<std::uint16_t>(k * round), {0, 0, 0}};
      for (int f = 0; f < field_count(kind); ++f) {
        r.f[f] = (f + 1) * 1000003ull * (round + 1) + (round == 2 ? UINT64_MAX / 2 : 0);
      }
      events.push_back(r);
      // Same task, a small step, none, a jump across the whole 32-bit range.
      task = k % 4 == 0 ? task : k % 4 == 1 ? task + 3 : k % 4 == 2 ? 0 : UINT32_MAX - task;
    }
  }
  events.push_back(Record{t + (1ull << 40), EventKind::kPollEnd, 1, UINT16_MAX, {0, 0, 0}});
  return events;
}

TEST(TraceEvents, EveryKindRoundTripsExactly) {
  const std::vector<Record> events = every_kind();
  Bytes out;
  append_events(out, 3, events);
  const std::vector<Record> back = decode_all(out, 3);
  ASSERT_EQ(back.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_TRUE(same(back[i], events[i])) << "event " << i;
  }
}

TEST(TraceEvents, ATimestampThatGoesBackwardsTakesThePreviousOne) {
  const std::vector<Record> events = {{100, EventKind::kTaskResumed, 1, 0, {}},
                                      {90, EventKind::kTaskSuspended, 1, 2, {5, 0, 0}},
                                      {120, EventKind::kPollBegin, 0, 0, {}}};
  Bytes out;
  append_events(out, 0, events);
  const std::vector<Record> back = decode_all(out, 0);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].ticks, 100u);
  EXPECT_EQ(back[2].ticks, 120u);
}

TEST(TraceEvents, ManyEventsAreSplitIntoChunksThatEachCarryTheirOwnBase) {
  std::vector<Record> events;
  for (std::uint64_t i = 0; i < 3 * kMaxEventsPerChunk + 5; ++i) {
    events.push_back(
        Record{i * 100, EventKind::kTaskResumed, static_cast<std::uint32_t>(i % 9), 0, {}});
  }
  Bytes out;
  append_events(out, 1, events);
  EXPECT_EQ(chunks_of(out).size(), 4u);
  const std::vector<Record> back = decode_all(out, 1);
  ASSERT_EQ(back.size(), events.size());
  EXPECT_TRUE(same(back.back(), events.back()));
  Bytes none;
  append_events(none, 1, {});
  EXPECT_TRUE(none.empty());
}

// A loop's stream: poll, then a few task steps (resume, suspend on something), now and then
// a task created or finished, a lag sample; 10-500 ticks apart, task ids near each other.
std::vector<Record> realistic_stream(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Record> events;
  events.reserve(n + 16);
  std::uint64_t t = 1'000'000'000;
  std::uint32_t task = 5000;
  const auto add = [&](EventKind kind, std::uint32_t id, std::uint16_t arg, std::uint64_t f0 = 0,
                       std::uint64_t f1 = 0, std::uint64_t f2 = 0) {
    t += 10 + rng() % 491;
    events.push_back(Record{t, kind, id, arg, {f0, f1, f2}});
  };
  while (events.size() < n) {
    add(EventKind::kPollBegin, 0, 0);
    add(EventKind::kPollEnd, 0, static_cast<std::uint16_t>(rng() % 4));
    for (std::uint64_t steps = 1 + rng() % 6; steps > 0; --steps) {
      task = static_cast<std::uint32_t>(task + static_cast<int>(rng() % 201) - 100);
      if (rng() % 8 == 0) {
        add(EventKind::kTaskCreated, task + 1, 0, task, 1 + rng() % 40, 1 + rng() % 40);
      }
      add(EventKind::kTaskResumed, task, 0);
      if (rng() % 10 == 0) {
        add(EventKind::kTaskFinished, task, 1);
      } else {
        add(EventKind::kTaskSuspended, task, static_cast<std::uint16_t>(rng() % 14),
            rng() % 2 == 0 ? task - rng() % 50 : rng() % 64);
      }
    }
    if (rng() % 4 == 0) {
      add(EventKind::kLagSample, 0, 0, 1000 + rng() % 100'000);
    }
  }
  events.resize(n);
  return events;
}

TEST(TraceEvents, ARealisticStreamTakesUnderSixBytesPerEvent) {
  const std::vector<Record> events = realistic_stream(100'000, 1);
  Bytes out;
  append_events(out, 0, events);
  const double per_event = static_cast<double>(out.size()) / static_cast<double>(events.size());
  EXPECT_LT(per_event, 6.0);
  RecordProperty("bytes_per_event", std::to_string(per_event));
  const std::vector<Record> back = decode_all(out, 0);
  ASSERT_EQ(back.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_TRUE(same(back[i], events[i])) << "event " << i;
  }
}

// The events payload as docs/trace-format.md describes it, one plain step at a time: what the
// batched, branch-free codec must produce and read.
Bytes reference_payload(std::uint32_t thread, std::span<const Record> events, std::size_t count) {
  Bytes out;
  put_varint(out, thread);
  put_varint(out, count);
  std::uint64_t ticks = events.empty() ? 0 : events.front().ticks;
  std::uint32_t task = 0;
  put_varint(out, ticks);
  for (const Record& r : events) {
    const std::size_t tag_at = out.size();
    out.push_back(std::byte{0});
    unsigned tag = static_cast<unsigned>(r.kind);
    const std::uint64_t delta = r.ticks > ticks ? r.ticks - ticks : 0;
    ticks += delta;
    put_varint(out, delta);
    if (r.task == 0) {
      tag |= 2u << 6;
    } else if (r.task != task) {
      tag |= 1u << 6;
      put_varint(out, zigzag_encode(std::int64_t{r.task} - std::int64_t{task}));
      task = r.task;
    }
    if (r.arg != 0) {
      tag |= 0x20;
      put_varint(out, r.arg);
    }
    for (int k = 0; k < field_count(r.kind); ++k) {
      put_varint(out, r.f[k]);
    }
    out[tag_at] = static_cast<std::byte>(tag);
  }
  return out;
}

// Every kind, a realistic stream, and values at every varint length boundary in every field.
std::vector<Record> codec_corpus() {
  std::vector<Record> events = every_kind();
  const std::vector<Record> stream = realistic_stream(20'000, 2);
  std::uint64_t t = events.back().ticks;
  for (Record r : stream) {
    r.ticks += t;
    events.push_back(r);
  }
  t = events.back().ticks;
  std::uint32_t task = 1;
  for (int bits = 0; bits <= 64; ++bits) {
    const std::uint64_t v = bits == 64 ? UINT64_MAX : (std::uint64_t{1} << bits) - 1;
    t += (v >> 8) + 2;  // never backwards: the encoder would clamp
    task = task == 1 ? UINT32_MAX : 1;
    events.push_back(
        Record{t, EventKind::kTaskCreated, task, static_cast<std::uint16_t>(v), {v, v + 1, ~v}});
    events.push_back(Record{t, EventKind::kLagSample, 0, 0, {v, 0, 0}});
    events.push_back(Record{t + 1, EventKind::kTaskSuspended, 0, 1, {v + 1, 0, 0}});
  }
  return events;
}

// Runs `body` with the portable codec, then (on a CPU that has it) with BMI2.
template <class F>
void with_both_codec_paths(F&& body) {
  const bool original = detail::event_codec_bmi2();
  for (const bool bmi2 : {false, true}) {
    detail::set_event_codec_bmi2(bmi2);
    SCOPED_TRACE(detail::event_codec_bmi2() ? "bmi2" : "portable");
    body();
  }
  detail::set_event_codec_bmi2(original);
}

TEST(TraceEvents, BothCodecPathsWriteTheSpecifiedBytesAndReadThemBack) {
  const std::vector<Record> events = codec_corpus();
  ASSERT_LT(events.size(), kMaxEventsPerChunk);
  with_both_codec_paths([&] {
    Bytes out;
    append_events(out, 7, events);
    const std::vector<Chunk> chunks = chunks_of(out);
    ASSERT_EQ(chunks.size(), 1u);
    const Bytes reference = reference_payload(7, events, events.size());
    EXPECT_TRUE(std::equal(chunks[0].payload.begin(), chunks[0].payload.end(), reference.begin(),
                           reference.end()));
    const std::vector<Record> back = decode_all(out, 7);
    ASSERT_EQ(back.size(), events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      ASSERT_TRUE(same(back[i], events[i])) << "event " << i;
    }
  });
}

TEST(TraceEvents, AnEncoderFedInBatchesWritesWhatOneCallWrites) {
  const std::vector<Record> events = realistic_stream(2 * kMaxEventsPerChunk + 999, 3);
  Bytes whole;
  append_events(whole, 2, events);
  Bytes batched;
  EventEncoder encoder(batched, 2);
  for (std::size_t i = 0; i < events.size(); i += 1000) {
    encoder.add(std::span(events).subspan(i, std::min<std::size_t>(1000, events.size() - i)));
  }
  encoder.finish();
  EXPECT_EQ(batched, whole);
  EXPECT_EQ(chunks_of(batched).size(), 3u);
}

TEST(TraceEvents, AMalformedEventAfterGoodOnesFailsAfterTheyAreDelivered) {
  const std::vector<Record> events = realistic_stream(300, 4);
  with_both_codec_paths([&] {
    // A bad tag (kind 31) followed by more bytes (the fast path's region) or by nothing.
    for (const std::size_t padding : {std::size_t{0}, std::size_t{1}, std::size_t{40}}) {
      Bytes payload = reference_payload(0, events, events.size() + 1);
      const std::size_t bad = payload.size();
      payload.push_back(std::byte{0x9f});
      payload.resize(payload.size() + padding);
      std::size_t delivered = 0;
      try {
        std::uint32_t thread = 0;
        decode_events(payload, thread, [&](const Record&) { ++delivered; });
        FAIL() << "no error";
      } catch (const FormatError& e) {
        EXPECT_EQ(e.offset(), bad + 1) << padding;
        EXPECT_NE(std::string(e.what()).find("unknown event kind 31"), std::string::npos);
      }
      EXPECT_EQ(delivered, events.size()) << padding;
    }
  });
}

TEST(TraceEvents, DecodingRejectsMalformedPayloadsCleanly) {
  // thread 0, count 1, base 0, then: tag, delta.
  const auto payload = [](std::initializer_list<int> tail) {
    Bytes b = bytes_of({0, 1, 0});
    for (const int v : tail) {
      b.push_back(static_cast<std::byte>(v));
    }
    return b;
  };
  const auto decode = [](const Bytes& b) {
    std::uint32_t thread = 0;
    decode_events(b, thread, [](const Record&) {});
  };
  EXPECT_NO_THROW(decode(payload({0x83, 0})));                              // task_resumed, no task
  EXPECT_THROW(decode(payload({0x9f, 0})), FormatError);                    // kind 31
  EXPECT_THROW(decode(payload({0xc3, 0})), FormatError);                    // task mode 3
  EXPECT_THROW(decode(payload({0x43, 0, 1})), FormatError);                 // task 0 - 1
  EXPECT_THROW(decode(payload({0xa3, 0, 0x80, 0x80, 0x04})), FormatError);  // arg 65536
  EXPECT_THROW(decode(payload({0x83, 0, 0})), FormatError);                 // trailing byte
  EXPECT_THROW(decode(bytes_of({0, 50, 0, 0x83, 0})), FormatError);         // count too large
}

TEST(TraceChunks, EveryFixedChunkTypeRoundTrips) {
  Bytes out;
  const std::vector<ClockSync> sync = {{10, 20}, {UINT64_MAX, 1}};
  append_clock_sync(out, sync);
  append_thread(out, 2, 12345, "loop-2");
  const std::vector<std::pair<std::uint64_t, std::string_view>> strings = {{1, "fetch"}, {2, ""}};
  append_strings(out, strings);
  const std::vector<Location> locations = {{1, 0x401000, 1, 2, 42}, {2, 0, 0, 0, 0}};
  append_locations(out, locations);
  append_drops(out, 2, 17, 100, 200);
  append_warning(out, WarningRecord{2, 99, 12, 1ull << 40, "closed", {1, 2}});
  append_task_name(out, 2, 77, "worker");
  append_end(out, 1000, 17);
  append_task_error(out, 3, 1ull << 33, "connection refused");
  const std::vector<Chunk> chunks = chunks_of(out);
  ASSERT_EQ(chunks.size(), 9u);
  for (const Chunk& c : chunks) {
    EXPECT_EQ(c.header.crc, chunk_crc(c.bytes, c.payload));
    EXPECT_EQ(c.header.flags, 0);
  }
  std::vector<ClockSync> sync_back;
  decode_clock_sync(chunks[0].payload, sync_back);
  ASSERT_EQ(sync_back.size(), 2u);
  EXPECT_EQ(sync_back[1].ticks, UINT64_MAX);
  const ThreadInfo t = decode_thread(chunks[1].payload);
  EXPECT_EQ(t.index, 2u);
  EXPECT_EQ(t.os_tid, 12345u);
  EXPECT_EQ(t.name, "loop-2");
  std::vector<std::string> texts;
  decode_strings(chunks[2].payload,
                 [&](std::uint64_t, std::string_view s) { texts.emplace_back(s); });
  EXPECT_EQ(texts, (std::vector<std::string>{"fetch", ""}));
  std::vector<std::uint64_t> lines;
  decode_locations(chunks[3].payload, [&](const Location& l) { lines.push_back(l.line); });
  EXPECT_EQ(lines, (std::vector<std::uint64_t>{42, 0}));
  const Drops d = decode_drops(chunks[4].payload);
  EXPECT_EQ(d.count, 17u);
  EXPECT_EQ(d.ticks_after, 200u);
  WarningRecord w;
  decode_warning(chunks[5].payload, w);
  EXPECT_EQ(w.kind, 12);
  EXPECT_EQ(w.task, 1ull << 40);
  EXPECT_EQ(w.message, "closed");
  EXPECT_EQ(w.frames, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(decode_task_name(chunks[6].payload).name, "worker");
  EXPECT_EQ(decode_end(chunks[7].payload).dropped, 17u);
  EXPECT_THROW(decode_end(chunks[6].payload), FormatError);
  EXPECT_EQ(chunks[8].header.type, static_cast<std::uint8_t>(ChunkType::kTaskError));
  const TaskError e = decode_task_error(chunks[8].payload);
  EXPECT_EQ(e.thread, 3u);
  EXPECT_EQ(e.task, 1ull << 33);
  EXPECT_EQ(e.message, "connection refused");
}

}  // namespace
}  // namespace loopscope::probes::format
