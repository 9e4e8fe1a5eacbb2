// When the collector drains a ring: at once while its loop waits (or when it closes, fills
// up or was left too long), and not while its loop is busy running steps.

#include <loopscope/probes/collector.hpp>
#include <loopscope/probes/recorder.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <unistd.h>

namespace loopscope::probes {
namespace {

using std::chrono::milliseconds;

std::string temp_trace(const char* name) {
  return ::testing::TempDir() + "/" + name + "_" + std::to_string(getpid()) + ".lstrace";
}

void record_timed(Recorder& rec, int n) {
  for (int i = 0; i < n; ++i) {
    rec.record(EventKind::kTaskResumed, 100 + static_cast<std::uint64_t>(i), 1);
  }
  rec.publish();
}

// Returns once the collector has written `n` events (the collector thread does it).
void wait_until_written(const Collector& collector, std::uint64_t n) {
  while (collector.events_written() < n) {
    std::this_thread::yield();
  }
}

TEST(DrainDue, ABusyRingIsLeftAloneUntilItWaitsClosesFillsOrIsOverdue) {
  const CollectorOptions options{.busy_drain_interval_ms = 40};
  const RingLook busy{.readable = 100, .capacity = 1024, .since_drain = milliseconds(39)};
  EXPECT_FALSE(drain_due(busy, options));

  RingLook look = busy;
  look.waiting = true;
  EXPECT_TRUE(drain_due(look, options));
  look = busy;
  look.closed = true;
  EXPECT_TRUE(drain_due(look, options));
  look = busy;
  look.behind = true;
  EXPECT_TRUE(drain_due(look, options));
  look = busy;
  look.readable = 511;
  EXPECT_FALSE(drain_due(look, options));
  look.readable = 512;  // half full
  EXPECT_TRUE(drain_due(look, options));
  look = busy;
  look.since_drain = milliseconds(40);
  EXPECT_TRUE(drain_due(look, options));
}

TEST(Collector, AWaitingLoopsRingIsDrainedAndABusyOnesIsNot) {
  const std::string path = temp_trace("collector_waiting");
  // Looks every millisecond; a busy ring would wait an hour.
  auto collector = Collector::open(
      path, CollectorOptions{.drain_interval_ms = 1, .busy_drain_interval_ms = 3'600'000});
  auto waiting = collector->add_thread("waiting");
  auto busy = collector->add_thread("busy");
  record_timed(*busy, 7);
  record_timed(*waiting, 10);
  waiting->set_waiting(true);
  wait_until_written(*collector, 10);
  EXPECT_EQ(collector->events_written(), 10u);     // the busy ring's 7 are still in it
  EXPECT_EQ(busy->ring().readable().size(), 14u);  // two words each

  collector->flush();  // drains every ring
  EXPECT_EQ(collector->events_written(), 17u);
  waiting->close();
  busy->close();
  waiting.reset();
  busy.reset();
  collector.reset();
  std::remove(path.c_str());
}

TEST(Collector, ABusyLoopsRingIsDrainedOnceItIsHalfFull) {
  const std::string path = temp_trace("collector_half_full");
  auto collector = Collector::open(
      path, CollectorOptions{
                .ring_words = 128, .drain_interval_ms = 1, .busy_drain_interval_ms = 3'600'000});
  auto recorder = collector->add_thread("busy");
  record_timed(*recorder, 32);  // half of the 128 words: two a timed event
  wait_until_written(*collector, 32);
  EXPECT_EQ(collector->events_written(), 32u);
  EXPECT_EQ(collector->events_dropped(), 0u);
  recorder->close();
  recorder.reset();
  collector.reset();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace loopscope::probes
