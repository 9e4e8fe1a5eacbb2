// RingReader turns the ring's compact forms (probes/event.hpp) back into trace events; the
// ring publishes, wraps and counts drops in trace events.

#include <loopscope/probes/collector.hpp>
#include <loopscope/probes/recorder.hpp>
#include <loopscope/probes/ring.hpp>
#include <loopscope/probes/ring_reader.hpp>
#include <loopscope/probes/trace_format.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <typeinfo>
#include <unistd.h>
#include <utility>
#include <vector>

namespace loopscope::probes {
namespace {

namespace format = probes::format;

struct Out {
  Event event;
  std::vector<EventExt> ext;
};

std::vector<Out> read(EventRing& ring, RingReader& reader) {
  ring.publish();
  std::vector<Out> out;
  const auto slots = ring.readable();
  reader.read(slots, [&out](const Event& e, std::span<const EventExt> ext) {
    out.push_back(Out{e, {ext.begin(), ext.end()}});
  });
  ring.consume(slots.size());
  return out;
}

Event timed(EventKind kind, std::uint64_t ticks, std::uint32_t task, std::uint8_t flags = 0) {
  return Event{ticks, task, 0, kind, flags};
}
// A compact step end: untimed, its one extension word in `time`, standing for its resume.
Event compact(EventKind kind, std::uint32_t task, std::uint64_t word, std::uint16_t arg = 0) {
  return Event{word, task, arg, kind, kUntimed | kFolded | kStep};
}

TEST(RingReader, ACompactStepBecomesItsResumeAndItsEnd) {
  EventRing ring(64);
  RingReader reader;
  ring.append(timed(kTimeMark, 100, 0));
  ring.append(compact(EventKind::kTaskSuspended, 5, 42, 9));
  const EventExt object{77, 0};
  ring.append(timed(EventKind::kTaskFinished, 300, 6, kStep | 1), {&object, 1});
  const auto out = read(ring, reader);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].event.kind, EventKind::kTaskResumed);
  EXPECT_EQ(out[0].event.task, 5u);
  EXPECT_EQ(out[0].event.time, 100u);
  EXPECT_EQ(out[1].event.kind, EventKind::kTaskSuspended);
  EXPECT_EQ(out[1].event.time, 200u);  // half of the window: two steps share it
  EXPECT_EQ(out[1].event.arg, 9u);
  EXPECT_EQ(out[1].event.ext, 1u);  // flags cleared, the count left
  ASSERT_EQ(out[1].ext.size(), 1u);
  EXPECT_EQ(out[1].ext[0].a, 42u);
  EXPECT_EQ(out[1].ext[0].b, 0u);
  EXPECT_EQ(out[2].event.kind, EventKind::kTaskResumed);
  EXPECT_EQ(out[2].event.time, 200u);
  EXPECT_EQ(out[3].event.kind, EventKind::kTaskFinished);
  EXPECT_EQ(out[3].event.time, 300u);
  EXPECT_EQ(out[3].ext[0].a, 77u);
}

TEST(RingReader, UntimedStepsEndAtEvenSharesUpToTheEventThatClosesThem) {
  EventRing ring(64);
  RingReader reader;
  ring.append(timed(kTimeMark, 1000, 0));
  for (std::uint32_t task = 1; task <= 3; ++task) {
    ring.append(compact(EventKind::kTaskSuspended, task, 0));
  }
  ring.append(timed(EventKind::kCallbackBegin, 1300, 0));  // the last step ended here
  const auto out = read(ring, reader);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[1].event.time, 1100u);
  EXPECT_EQ(out[3].event.time, 1200u);
  EXPECT_EQ(out[5].event.time, 1300u);
  EXPECT_EQ(out[6].event.time, 1300u);
}

// The shares round down exactly, whatever the window: here one that does not divide evenly,
// longer than half the tick range (no overflow), read at once and split across two reads
// (the run then waits for the event that closes it).
TEST(RingReader, UnevenSharesOfAHugeWindowRoundDownExactly) {
  __extension__ using Wide = unsigned __int128;
  constexpr std::uint64_t kBase = 1000;
  constexpr std::uint64_t kClose = kBase + (std::uint64_t{1} << 63) + 12'345;
  constexpr std::uint32_t kSteps = 7;
  for (const bool split : {false, true}) {
    EventRing ring(256);
    RingReader reader;
    ring.append(timed(kTimeMark, kBase, 0));
    for (std::uint32_t task = 1; task <= kSteps; ++task) {
      ring.append(compact(EventKind::kTaskSuspended, task, 0));
    }
    std::vector<Out> out;
    if (split) {
      out = read(ring, reader);
      EXPECT_TRUE(out.empty());
    }
    ring.append(timed(EventKind::kCallbackBegin, kClose, 0));
    const std::vector<Out> rest = read(ring, reader);
    out.insert(out.end(), rest.begin(), rest.end());
    ASSERT_EQ(out.size(), 2 * kSteps + 1);
    for (std::uint32_t k = 1; k <= kSteps; ++k) {
      const auto expected = static_cast<std::uint64_t>(kBase + Wide{kClose - kBase} * k / kSteps);
      EXPECT_EQ(out[2 * k - 1].event.time, expected) << k << (split ? " split" : "");
      EXPECT_EQ(out[2 * k].event.time, k < kSteps ? expected : kClose);
    }
  }
}

TEST(RingReader, EventsInsideAStepTakeTheTimeItBeganAndFoldedWordsRegroup) {
  EventRing ring(64);
  RingReader reader;
  ring.append(timed(kTimeMark, 100, 0));
  ring.append(Event{0, 7, 0, EventKind::kTaskResumed, kUntimed});
  // A spawn: words parent, resume, file, line, function, 0.
  const std::array<EventExt, 2> rest{EventExt{11, 12}, EventExt{13, 14}};
  ring.append(Event{10, 8, 0, EventKind::kTaskCreated, kUntimed | kFolded | 2}, rest);
  ring.append(Event{0, 7, 0, EventKind::kTaskSuspended, kUntimed | kFolded});
  ring.append(timed(kTimeMark, 500, 0));
  const auto out = read(ring, reader);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].event.kind, EventKind::kTaskResumed);
  EXPECT_EQ(out[0].event.time, 100u);
  EXPECT_EQ(out[1].event.kind, EventKind::kTaskCreated);
  EXPECT_EQ(out[1].event.time, 100u);
  ASSERT_EQ(out[1].ext.size(), 3u);
  EXPECT_EQ(out[1].ext[0].a, 10u);
  EXPECT_EQ(out[1].ext[0].b, 11u);
  EXPECT_EQ(out[1].ext[1].a, 12u);
  EXPECT_EQ(out[1].ext[1].b, 13u);
  EXPECT_EQ(out[1].ext[2].a, 14u);
  EXPECT_EQ(out[1].ext[2].b, 0u);
  EXPECT_EQ(out[2].event.kind, EventKind::kTaskSuspended);
  EXPECT_EQ(out[2].event.time, 500u);
}

// A spawn in a step whose task_resumed is in the ring is one word: its parent is that step's
// task. Between steps (a task_created the ring does not place in one) the parent is unknown.
// At time 100, task 7's step begins and spawns task 8, which defines spawn site 1 (coroutine
// 11, file 12, line 13, function 14).
void begin_step_defining_site_1(EventRing& ring) {
  ring.append(timed(kTimeMark, 100, 0));
  const std::array<EventExt, 2> rest{EventExt{11, 12}, EventExt{13, 14}};
  ring.append(Event{0, 7, 0, EventKind::kTaskResumed, kUntimed});
  ring.append(Event{7, 8, 1, EventKind::kTaskCreated, kUntimed | kFolded | 2}, rest);
}

TEST(RingReader, ASpawnOfOneWordHasTheTaskOfItsStepAsItsParent) {
  EventRing ring(128);
  RingReader reader;
  begin_step_defining_site_1(ring);
  ring.append(Event{0, 9, 1, EventKind::kTaskCreated, kUntimed | kSiteRef});
  ring.append(Event{0, 7, 0, EventKind::kTaskSuspended, kUntimed});
  ring.append(Event{0, 5, 0, EventKind::kTaskResumed, kUntimed});  // task 5's step
  ring.append(Event{0, 10, 1, EventKind::kTaskCreated, kUntimed | kSiteRef});
  ring.append(timed(EventKind::kTaskFinished, 500, 5));
  ring.append(Event{0, 11, 1, EventKind::kTaskCreated, kUntimed | kSiteRef});  // no step
  ring.append(timed(kTimeMark, 600, 0));
  const auto out = read(ring, reader);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> created;  // task, parent
  for (const Out& o : out) {
    if (o.event.kind == EventKind::kTaskCreated) {
      ASSERT_EQ(o.ext.size(), 3u);
      EXPECT_EQ(o.ext[0].b, 11u);  // the coroutine of site 1
      EXPECT_EQ(o.ext[2].a, 14u);
      created.emplace_back(o.event.task, o.ext[0].a);
    }
  }
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> expected{
      {8, 7}, {9, 7}, {10, 5}, {11, 0}};
  EXPECT_EQ(created, expected);
}

TEST(RingReader, ASpawnFromANumberedSiteGetsItsCoroutineAndSiteBack) {
  EventRing ring(64);
  RingReader reader;
  ring.append(timed(kTimeMark, 100, 0));
  // The first spawn from site 1 defines it (words parent, resume, file, line, function, 0);
  // the next two name it in two words each, with their own parents.
  const std::array<EventExt, 2> rest{EventExt{11, 12}, EventExt{13, 14}};
  ring.append(Event{10, 8, 1, EventKind::kTaskCreated, kUntimed | kFolded | 2}, rest);
  ring.append(Event{20, 9, 1, EventKind::kTaskCreated, kUntimed | kFolded | kSiteRef});
  ring.append(Event{30, 10, 1, EventKind::kTaskCreated, kUntimed | kFolded | kSiteRef});
  // A number whose definition never arrived (dropped with a full ring): the site is unknown.
  ring.append(Event{40, 11, 2, EventKind::kTaskCreated, kUntimed | kFolded | kSiteRef});
  ring.append(timed(kTimeMark, 500, 0));
  const auto out = read(ring, reader);
  ASSERT_EQ(out.size(), 4u);
  for (std::size_t k = 0; k < out.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(out[k].event.kind, EventKind::kTaskCreated);
    EXPECT_EQ(out[k].event.task, 8 + k);
    EXPECT_EQ(out[k].event.arg, 0u);  // the number is the ring's business only
    EXPECT_EQ(out[k].event.time, 100u);
    ASSERT_EQ(out[k].ext.size(), 3u);
    EXPECT_EQ(out[k].ext[0].a, 10 * (k + 1));  // the parent
    const bool known = k < 3;
    EXPECT_EQ(out[k].ext[0].b, known ? 11u : 0u);
    EXPECT_EQ(out[k].ext[1].a, known ? 12u : 0u);
    EXPECT_EQ(out[k].ext[1].b, known ? 13u : 0u);
    EXPECT_EQ(out[k].ext[2].a, known ? 14u : 0u);
    EXPECT_EQ(out[k].ext[2].b, 0u);
  }
}

// A run of spawns (kSpawnRun: how many in `task`, the first id in the second word) becomes
// one task_created for each of its tasks, in id order, each with the step's task as its
// parent and the coroutine and site of its number, at the time the step began.
TEST(RingReader, ARunOfSpawnsBecomesOneTaskCreatedForEachOfItsTasks) {
  EventRing ring(128);
  RingReader reader;
  begin_step_defining_site_1(ring);
  ring.append(Event{9, 5, 1, EventKind::kTaskCreated, kUntimed | kFolded | kSpawnRun});
  ring.append(Event{0, 14, 1, EventKind::kTaskCreated, kUntimed | kSiteRef});
  ring.append(Event{15, 2, 1, EventKind::kTaskCreated, kUntimed | kFolded | kSpawnRun});
  ring.append(Event{0, 7, 0, EventKind::kTaskSuspended, kUntimed});
  ring.append(timed(EventKind::kTaskFinished, 500, 8, kStep));
  const auto out = read(ring, reader);
  std::vector<std::uint32_t> created;
  for (const Out& o : out) {
    if (o.event.kind != EventKind::kTaskCreated) {
      continue;
    }
    SCOPED_TRACE(o.event.task);
    created.push_back(o.event.task);
    EXPECT_EQ(o.event.time, 100u);
    EXPECT_EQ(o.event.arg, 0u);
    ASSERT_EQ(o.ext.size(), 3u);
    EXPECT_EQ(o.ext[0].a, 7u);
    EXPECT_EQ(o.ext[0].b, 11u);
    EXPECT_EQ(o.ext[1].a, 12u);
    EXPECT_EQ(o.ext[1].b, 13u);
    EXPECT_EQ(o.ext[2].a, 14u);
    EXPECT_EQ(o.ext[2].b, 0u);
  }
  const std::vector<std::uint32_t> expected{8, 9, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(created, expected);
  // The runs are no steps: task 7's step is one resume and one suspend, task 8's the next.
  ASSERT_EQ(out.size(), 1 + expected.size() + 1 + 2);
  EXPECT_EQ(out[0].event.kind, EventKind::kTaskResumed);
  EXPECT_EQ(out[0].event.task, 7u);
  EXPECT_EQ(out[10].event.kind, EventKind::kTaskSuspended);
  EXPECT_EQ(out[11].event.kind, EventKind::kTaskResumed);
  EXPECT_EQ(out[11].event.task, 8u);
}

TEST(RingReader, ObjectAddressesBecomeNumbersInOrderOfFirstAppearance) {
  EventRing ring(64);
  RingReader reader;
  const int a = 0;
  const int b = 0;
  ring.append(timed(kTimeMark, 1, 0));
  ring.append(compact(EventKind::kTaskSuspended, 1, object_address(&a)));
  ring.append(compact(EventKind::kTaskSuspended, 2, object_address(&b)));
  ring.append(compact(EventKind::kTaskSuspended, 3, object_address(&a)));
  ring.append(compact(EventKind::kTaskSuspended, 4, 12345));  // a task id: kept
  ring.append(timed(kTimeMark, 2, 0));
  const auto out = read(ring, reader);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[1].ext[0].a, 1u);
  EXPECT_EQ(out[3].ext[0].a, 2u);
  EXPECT_EQ(out[5].ext[0].a, 1u);
  EXPECT_EQ(out[7].ext[0].a, 12345u);
}

TEST(RingReader, ARunSplitBetweenTwoReadsWaitsForTheEventThatClosesIt) {
  EventRing ring(64);
  RingReader reader;
  ring.append(timed(kTimeMark, 0, 0));
  ring.append(compact(EventKind::kTaskSuspended, 1, 0));
  EXPECT_TRUE(read(ring, reader).empty());
  ring.append(compact(EventKind::kTaskSuspended, 2, 0));
  ring.append(timed(EventKind::kTaskSuspended, 300, 3, kStep));
  const auto out = read(ring, reader);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[1].event.time, 100u);
  EXPECT_EQ(out[3].event.time, 200u);
  EXPECT_EQ(out[4].event.time, 200u);
  EXPECT_EQ(out[5].event.time, 300u);
}

TEST(RingReader, FinishHandsOutWhatIsLeftAtTheLastTimeKnown) {
  EventRing ring(64);
  RingReader reader;
  ring.append(timed(EventKind::kPollEnd, 50, 0));
  ring.append(compact(EventKind::kTaskSuspended, 1, 0));
  ASSERT_EQ(read(ring, reader).size(), 1u);
  std::vector<Event> rest;
  reader.finish([&rest](const Event& e, std::span<const EventExt>) { rest.push_back(e); });
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].time, 50u);
  EXPECT_EQ(rest[1].time, 50u);
}

TEST(EventRing, AppendsAreVisibleOncePublishedOrEveryFewThousandWords) {
  EventRing ring(1 << 15);
  ring.append(timed(EventKind::kPollBegin, 1, 0));
  EXPECT_EQ(ring.readable().size(), 0u);
  ring.publish();
  EXPECT_EQ(ring.readable().size(), 2u);  // a timed event: its header and its time
  for (int i = 0; i < 10'000; ++i) {
    ring.append_words(pack_header(1, 0, EventKind::kTaskResumed, 0), static_cast<std::uint64_t>(i));
  }
  EXPECT_GT(ring.readable().size(), 8192u);  // published by the ring itself
  EXPECT_LT(ring.readable().size(), 20'002u);
}

TEST(EventRing, AnEventAcrossTheEndOfTheRingReadsBackWhole) {
  EventRing ring(128);
  for (int i = 0; i < 62; ++i) {  // 124 of the 128 words: the next event wraps
    ring.append(timed(EventKind::kPollBegin, static_cast<std::uint64_t>(i), 0));
  }
  ring.publish();
  ring.consume(ring.readable().size());
  const std::array<EventExt, 3> ext{EventExt{1, 2}, EventExt{3, 4}, EventExt{5, 6}};
  ASSERT_TRUE(ring.append(Event{99, 8, 0, EventKind::kTaskCreated, 3}, ext));
  ring.publish();
  RingReader reader;
  std::vector<Out> out;
  reader.read(ring.readable(), [&out](const Event& e, std::span<const EventExt> x) {
    out.push_back(Out{e, {x.begin(), x.end()}});
  });
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event.time, 99u);
  ASSERT_EQ(out[0].ext.size(), 3u);
  EXPECT_EQ(out[0].ext[2].b, 6u);
}

TEST(EventRing, ADroppedCompactStepCountsAsTheTwoEventsItStandsFor) {
  EventRing ring(128);
  for (int i = 0; i < 64; ++i) {  // two words each: full
    ASSERT_TRUE(ring.append(timed(EventKind::kPollBegin, 1, 0)));
  }
  EXPECT_FALSE(ring.append(compact(EventKind::kTaskSuspended, 1, 0)));
  EXPECT_FALSE(ring.append(timed(EventKind::kPollEnd, 2, 0)));
  EXPECT_FALSE(ring.append(timed(kTimeMark, 3, 0)));  // no event of the trace
  EXPECT_EQ(ring.dropped(), 3u);
}

// A ring of a huge page or more starts on a huge-page boundary, so that its first words, all
// that a short program writes, are on huge pages like the rest.
TEST(EventRing, ALargeRingStartsOnAHugePageBoundary) {
  for (const std::size_t words : {std::size_t{1} << 18, std::size_t{1} << 22}) {
    const EventRing ring(words, 256);
    const auto start = reinterpret_cast<std::uintptr_t>(ring.readable().first.data());
    EXPECT_EQ(start % (std::size_t{2} << 20), 0u) << words;
  }
}

TEST(EventRing, ADroppedRunOfSpawnsCountsEveryTaskItStandsFor) {
  EventRing ring(128);
  for (int i = 0; i < 64; ++i) {  // two words each: full
    ASSERT_TRUE(ring.append(timed(EventKind::kPollBegin, 1, 0)));
  }
  EXPECT_FALSE(
      ring.append(Event{100, 5000, 1, EventKind::kTaskCreated, kUntimed | kFolded | kSpawnRun}));
  EXPECT_FALSE(ring.append(Event{0, 9, 1, EventKind::kTaskCreated, kUntimed | kSiteRef}));
  EXPECT_EQ(ring.dropped(), 5001u);
}

// ---- every kind through the recorder, the collector and a file ----

void a_coroutine_stand_in() {
}

std::vector<format::Record> read_events(const std::string& path, std::uint64_t& written) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
  std::uint32_t header_size = 0;
  format::decode_header(data, header_size);
  std::vector<format::Record> events;
  for (std::size_t at = header_size; at + format::kChunkHeaderSize <= data.size();) {
    const auto header =
        format::decode_chunk_header(data.subspan(at).first<format::kChunkHeaderSize>());
    const auto payload = data.subspan(at + format::kChunkHeaderSize, header.length);
    if (header.type == static_cast<std::uint8_t>(format::ChunkType::kEvents)) {
      std::uint32_t thread = 0;
      format::decode_events(payload, thread,
                            [&events](const format::Record& r) { events.push_back(r); });
    } else if (header.type == static_cast<std::uint8_t>(format::ChunkType::kEnd)) {
      written = format::decode_end(payload).written;
    }
    at += format::kChunkHeaderSize + header.length;
  }
  return events;
}

TEST(RingReader, EveryKindSurvivesTheRecorderTheCollectorAndTheFile) {
  const std::string path =
      ::testing::TempDir() + "/ring_every_kind_" + std::to_string(getpid()) + ".lstrace";
  auto collector = Collector::open(path);
  auto recorder = collector->add_thread("loop");
  Recorder& rec = *recorder;
  const auto word = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p); };
  rec.record(EventKind::kPollBegin, 10, 0);
  rec.record(EventKind::kPollEnd, 20, 0, 3);
  rec.record(
      EventKind::kTaskCreated, 30, 2, 0,
      std::array<EventExt, 3>{EventExt{1, reinterpret_cast<std::uintptr_t>(&a_coroutine_stand_in)},
                              EventExt{word("spawner.cpp"), 7}, EventExt{word("spawner"), 0}});
  rec.record(EventKind::kTaskResumed, 40, 2);
  rec.record(EventKind::kTaskSuspended, 50, 2, 2, EventExt{5, 0});
  rec.record(EventKind::kTaskResumed, 55, 2);
  rec.record(EventKind::kTaskFinished, 60, 2, 2, EventExt{word(typeid(int).name()), 0});
  rec.record(EventKind::kCallbackBegin, 70, 0, 0, EventExt{word(typeid(long).name()), 0});
  rec.record(EventKind::kCallbackEnd, 80, 0);
  rec.record(EventKind::kTimerFired, 90, 2);
  rec.record(EventKind::kThreadJobQueued, 100, 2, 0, EventExt{1, 0});
  rec.record(EventKind::kThreadJobStarted, 110, 2, 0,
             std::array<EventExt, 2>{EventExt{1, 0}, EventExt{7, 0}});
  rec.record(EventKind::kThreadJobFinished, 110, 2, 0,
             std::array<EventExt, 2>{EventExt{1, 0}, EventExt{3, 0}});
  rec.record(EventKind::kLagSample, 120, 0, 0, EventExt{5000, 0});
  rec.record_time_mark(130);
  rec.record_untimed_folded(EventKind::kTaskSuspended, 3, 1, 9, kStep);
  rec.record_time_mark(150);
  rec.close();
  recorder.reset();
  collector.reset();  // drains, writes the end chunk, closes the file

  std::uint64_t written = 0;
  const auto events = read_events(path, written);
  std::remove(path.c_str());
  ASSERT_EQ(events.size(), 16u);
  EXPECT_EQ(written, events.size());
  std::vector<bool> seen(static_cast<std::size_t>(EventKind::kCount), false);
  for (const auto& e : events) {
    seen[static_cast<std::size_t>(e.kind)] = true;
  }
  for (std::size_t k = 0; k < seen.size(); ++k) {
    EXPECT_TRUE(seen[k]) << kEventKindNames[k];
  }
  EXPECT_EQ(events[1].arg, 3u);
  EXPECT_EQ(events[2].f[0], 1u);  // parent
  EXPECT_NE(events[2].f[1], 0u);  // coroutine location
  EXPECT_NE(events[2].f[2], 0u);  // spawn site location
  EXPECT_EQ(events[4].f[0], 5u);
  EXPECT_NE(events[6].f[0], 0u);  // exception type string
  EXPECT_EQ(events[11].f[0], 1u);
  EXPECT_EQ(events[11].f[1], 7u);
  EXPECT_EQ(events[12].f[1], 3u);
  EXPECT_EQ(events[13].f[0], 5000u);
  EXPECT_EQ(events[14].kind, EventKind::kTaskResumed);
  EXPECT_EQ(events[14].ticks, 130u);
  EXPECT_EQ(events[15].kind, EventKind::kTaskSuspended);
  EXPECT_EQ(events[15].ticks, 150u);
  EXPECT_EQ(events[15].f[0], 9u);
}

}  // namespace
}  // namespace loopscope::probes
