#include <loopscope/probes/ring.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <thread>
#include <vector>

namespace loopscope::probes {
namespace {

Event make(std::uint64_t time, std::uint32_t task, std::uint8_t ext = 0) {
  return Event{time, task, 0, EventKind::kTaskResumed, ext};
}

std::vector<std::uint64_t> drain_words(EventRing& ring) {
  std::vector<std::uint64_t> out;
  const auto r = ring.readable();
  out.insert(out.end(), r.first.begin(), r.first.end());
  out.insert(out.end(), r.second.begin(), r.second.end());
  ring.consume(r.size());
  return out;
}

// The events in the ring, each with its second word as its time.
std::vector<Event> drain(EventRing& ring) {
  const std::vector<std::uint64_t> words = drain_words(ring);
  std::vector<Event> out;
  for (std::size_t i = 0; i < words.size(); i += ring_words(out.back().ext)) {
    out.push_back(unpack_header(words[i], has_second_word(words[i] >> 56) ? words[i + 1] : 0));
  }
  return out;
}

TEST(EventRing, CapacityIsAPowerOfTwoOfAtLeast128Words) {
  EXPECT_EQ(EventRing(1).capacity(), 128u);
  EXPECT_EQ(EventRing(200).capacity(), 256u);
}

TEST(EventRing, ReadsBackWhatWasWrittenInOrderAcrossTheWrap) {
  EventRing ring(128);  // 64 timed events of two words
  std::uint64_t next_read = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring.write(make(i, static_cast<std::uint32_t>(i))));
    if (i % 50 == 49) {
      for (const Event& e : drain(ring)) {
        ASSERT_EQ(e.time, next_read++);
      }
    }
  }
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(EventRing, ExtensionRecordsFollowTheirEvent) {
  EventRing ring(128);
  const std::array<EventExt, 2> ext = {EventExt{1, 2}, EventExt{3, 4}};
  ASSERT_TRUE(ring.write(make(7, 9, 2), ext));
  const auto words = drain_words(ring);
  ASSERT_EQ(words.size(), 6u);  // header, time, then the records' words
  EXPECT_EQ(unpack_header(words[0]).task, 9u);
  EXPECT_EQ(words[1], 7u);
  EXPECT_EQ(words[2], 1u);
  EXPECT_EQ(words[5], 4u);
}

TEST(EventRing, AnUntimedEventThatIsNotFoldedIsItsHeaderWordAlone) {
  EventRing ring(128);
  ASSERT_TRUE(ring.write(Event{0, 5, 1, EventKind::kTaskSuspended, kUntimed | kStep}));
  ASSERT_TRUE(ring.write(Event{42, 6, 1, EventKind::kTaskSuspended, kUntimed | kFolded | kStep}));
  const auto words = drain_words(ring);
  ASSERT_EQ(words.size(), 3u);
  EXPECT_EQ(words[0], pack_header(5, 1, EventKind::kTaskSuspended, kUntimed | kStep));
  EXPECT_EQ(unpack_header(words[1]).task, 6u);
  EXPECT_EQ(words[2], 42u);  // the folded extension word
}

TEST(EventRing, AFullRingDropsAndCountsInsteadOfBlocking) {
  EventRing ring(128);  // 64 timed events of two words
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(ring.write(make(i, 1)));
  }
  EXPECT_FALSE(ring.write(make(64, 1)));
  EXPECT_FALSE(ring.write(make(65, 1)));
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_EQ(drain(ring).size(), 64u);
  EXPECT_TRUE(ring.write(make(66, 1)));  // room again once consumed
}

TEST(EventRing, ProducerAndConsumerThreadsAccountForEveryEvent) {
  EventRing ring(1024);
  constexpr std::uint64_t kEvents = 200'000;
  std::uint64_t written = 0;
  std::thread producer([&ring, &written] {
    for (std::uint64_t i = 0; i < kEvents; ++i) {
      written += ring.write(make(i, 1)) ? 1 : 0;
    }
  });
  std::uint64_t read = 0;
  std::uint64_t last = 0;
  bool ordered = true;
  while (true) {
    const bool finished = read + ring.dropped() == kEvents;
    for (const Event& e : drain(ring)) {
      ordered = ordered && (read == 0 || e.time > last);
      last = e.time;
      ++read;
    }
    if (finished && ring.readable().size() == 0) {
      break;
    }
    std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(read, written);
  EXPECT_EQ(read + ring.dropped(), kEvents);  // emitted = written + dropped, exactly
}

}  // namespace
}  // namespace loopscope::probes
