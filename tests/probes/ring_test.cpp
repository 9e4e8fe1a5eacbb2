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

std::vector<Event> drain(EventRing& ring) {
  std::vector<Event> out;
  const auto r = ring.readable();
  out.insert(out.end(), r.first.begin(), r.first.end());
  out.insert(out.end(), r.second.begin(), r.second.end());
  ring.consume(r.size());
  return out;
}

TEST(EventRing, CapacityIsAPowerOfTwoOfAtLeast64) {
  EXPECT_EQ(EventRing(1).capacity(), 64u);
  EXPECT_EQ(EventRing(100).capacity(), 128u);
}

TEST(EventRing, ReadsBackWhatWasWrittenInOrderAcrossTheWrap) {
  EventRing ring(64);
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
  EventRing ring(64);
  const std::array<EventExt, 2> ext = {EventExt{1, 2}, EventExt{3, 4}};
  ASSERT_TRUE(ring.write(make(7, 9, 2), ext));
  const auto events = drain(ring);
  ASSERT_EQ(events.size(), 3u);
  EventExt got{};
  std::memcpy(&got, &events[2], sizeof(got));
  EXPECT_EQ(got.a, 3u);
  EXPECT_EQ(got.b, 4u);
}

TEST(EventRing, AFullRingDropsAndCountsInsteadOfBlocking) {
  EventRing ring(64);
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
