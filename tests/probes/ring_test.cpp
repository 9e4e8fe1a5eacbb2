#include <loopscope/probes/ring.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
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

TEST(EventRing, ARingWithoutUncheckedRoomTakesNoUncheckedAppends) {
  EventRing ring(128);
  EXPECT_EQ(ring.unchecked_words(), 0u);
  EXPECT_EQ(EventRing(128, 256).unchecked_words(), 32u);  // a quarter of the capacity at most
  EXPECT_EQ(EventRing(4096, 256).unchecked_words(), 256u);
}

TEST(EventRing, CheckedAppendsLeaveTheUncheckedRoomFree) {
  EventRing ring(128, 32);               // 96 words for checked appends: 48 timed events
  EXPECT_FALSE(ring.takes_unchecked());  // nothing appended yet: the stop is not set
  for (int i = 0; i < 48; ++i) {
    ASSERT_TRUE(ring.write(make(i, 1)));
  }
  EXPECT_FALSE(ring.takes_unchecked());
  EXPECT_FALSE(ring.write(make(48, 1)));
  EXPECT_EQ(ring.dropped(), 1u);
  // The 32 words are still there for a run of unchecked ones.
  for (int i = 0; i < 32; ++i) {
    ring.append_header_unchecked(
        pack_header(100 + i, 0, EventKind::kTaskSuspended, kUntimed | kStep));
  }
  ring.publish();
  const std::vector<std::uint64_t> words = drain_words(ring);
  ASSERT_EQ(words.size(), 128u);
  EXPECT_EQ(words[1], 0u);
  EXPECT_EQ(words[95], 47u);
  EXPECT_EQ(unpack_header(words[96]).task, 100u);
  EXPECT_EQ(unpack_header(words[127]).task, 131u);
  ASSERT_TRUE(ring.write(make(49, 1)));  // room again, and for unchecked words
  EXPECT_TRUE(ring.takes_unchecked());
}

// Runs of unchecked words (windows of step ends, at most unchecked_words() long, mixed with
// checked appends) wherever takes_unchecked() allows them, with a consumer draining at
// random: every word comes back once and in order, runs that cross the lap's end included,
// and every dropped event is counted.
TEST(EventRing, UncheckedRunsMixedWithCheckedAppendsComeBackInOrderAcrossTheLapsEnd) {
  EventRing ring(128, 32);
  std::mt19937_64 random(7);
  std::vector<std::uint64_t> expected;
  std::vector<std::uint64_t> read;
  std::uint64_t dropped = 0;
  std::uint32_t next = 1;
  int runs = 0;
  int runs_across_the_end = 0;
  std::uint64_t head = 0;  // words appended
  const auto checked = [&] {
    const std::uint64_t header =
        pack_header(next++, 0, EventKind::kTaskSuspended, kUntimed | kStep);
    if (random() % 2 == 0) {
      if (ring.append_header(header)) {
        expected.push_back(header);
        ++head;
      } else {
        dropped += 2;  // a compact step stands for two events
      }
    } else if (ring.append_words(header | (std::uint64_t{kFolded} << 56), next)) {
      expected.push_back(header | (std::uint64_t{kFolded} << 56));
      expected.push_back(next);
      head += 2;
    } else {
      dropped += 2;
    }
  };
  for (int round = 0; round < 200'000; ++round) {
    switch (random() % 8) {
      case 0: {
        ring.publish();
        const std::vector<std::uint64_t> words = drain_words(ring);
        read.insert(read.end(), words.begin(), words.end());
        break;
      }
      case 1:
      case 2:
        checked();
        break;
      default: {
        if (!ring.takes_unchecked()) {
          checked();
          break;
        }
        ++runs;
        const std::uint64_t start = head;
        std::size_t left = ring.unchecked_words();
        while (left >= 2 && random() % 16 != 0) {
          const std::uint64_t header =
              pack_header(next++, 0, EventKind::kTaskSuspended, kUntimed | kStep);
          if (random() % 4 == 0) {
            checked();  // an event inside a step
          } else if (random() % 2 == 0) {
            ring.append_header_unchecked(header);
            expected.push_back(header);
            ++head;
            --left;
          } else {
            ring.append_words_unchecked(header | (std::uint64_t{kFolded} << 56), next);
            expected.push_back(header | (std::uint64_t{kFolded} << 56));
            expected.push_back(next);
            head += 2;
            left -= 2;
          }
        }
        runs_across_the_end += start / 128 != head / 128 ? 1 : 0;
        break;
      }
    }
  }
  ring.publish();
  const std::vector<std::uint64_t> words = drain_words(ring);
  read.insert(read.end(), words.begin(), words.end());
  EXPECT_GT(runs, 10'000);
  EXPECT_GT(runs_across_the_end, 100);
  EXPECT_GT(dropped, 0u);
  ASSERT_EQ(read.size(), expected.size());
  EXPECT_TRUE(read == expected);
  EXPECT_EQ(ring.dropped(), dropped);
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
