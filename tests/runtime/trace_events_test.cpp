// The events a trace holds besides steps: timers firing, to_thread jobs, what a suspended task
// waits on, and lag samples, each checked field by field in a recorded trace.

#include "test_support.hpp"
#include "trace_reading.hpp"
#include <loopscope/detail/debug_hooks.hpp>
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
namespace format = probes::format;
using probes::EventKind;
using testing::Decoded;
using testing::read_trace;

// Runs `main` on a ManualClock with a trace and returns the trace, read back.
template <class T>
Decoded run_traced(Task<T> main, const std::string& name, T& result) {
  const std::string path = testing::trace_file(name);
  ManualClock clock;
  Options options;
  options.clock = &clock;
  options.trace_path = path;
  result = run(std::move(main), options);
  Decoded d = read_trace(path);
  std::remove(path.c_str());
  EXPECT_TRUE(d.ended);
  EXPECT_EQ(d.end_dropped, 0u);
  return d;
}

std::vector<format::Record> of_kind(const Decoded& d, EventKind kind) {
  std::vector<format::Record> out;
  for (const auto& e : d.events) {
    if (e.kind == kind) {
      out.push_back(e);
    }
  }
  return out;
}

std::size_t index_of(const Decoded& d, EventKind kind, std::uint32_t task) {
  for (std::size_t i = 0; i < d.events.size(); ++i) {
    if (d.events[i].kind == kind && d.events[i].task == task) {
      return i;
    }
  }
  return d.events.size();
}

std::uint32_t current_id() {
  return static_cast<std::uint32_t>(current_loop().current_task()->id_);
}

Task<void> sleeper(Duration d) {
  co_await sleep(d);
}

Task<std::vector<std::uint32_t>> timers_main() {
  const CallbackHandle callback = current_loop().call_later(5ms, [] {});
  auto a = spawn(sleeper(5ms));
  auto b = spawn(sleeper(5ms));
  co_await a;
  co_await b;
  co_return std::vector<std::uint32_t>{static_cast<std::uint32_t>(a.id()),
                                       static_cast<std::uint32_t>(b.id())};
}

TEST(TraceRecordedEvents, TimersThatFireNameTheTaskTheyWakeAndShareOneTimestamp) {
  std::vector<std::uint32_t> sleepers;
  const Decoded d = run_traced(timers_main(), "trace_timers", sleepers);
  const auto fired = of_kind(d, EventKind::kTimerFired);
  ASSERT_EQ(fired.size(), 3u);
  // Armed in this order, all due at 5 ms: the callback's timer, then each sleep's.
  EXPECT_EQ(fired[0].task, 0u);
  EXPECT_EQ(fired[1].task, sleepers[0]);
  EXPECT_EQ(fired[2].task, sleepers[1]);
  EXPECT_EQ(fired[1].ticks, fired[0].ticks);  // one clock reading for the timer phase
  EXPECT_EQ(fired[2].ticks, fired[0].ticks);
}

Task<std::uint32_t> job_main() {
  const int v = co_await to_thread([] { return 7; });
  EXPECT_EQ(v, 7);
  co_return current_id();
}

TEST(TraceRecordedEvents, AToThreadJobIsQueuedStartedAndFinishedUnderItsId) {
  std::uint32_t main_id = 0;
  const Decoded d = run_traced(job_main(), "trace_jobs", main_id);
  const auto queued = of_kind(d, EventKind::kThreadJobQueued);
  const auto started = of_kind(d, EventKind::kThreadJobStarted);
  const auto finished = of_kind(d, EventKind::kThreadJobFinished);
  ASSERT_EQ(queued.size(), 1u);
  ASSERT_EQ(started.size(), 1u);
  ASSERT_EQ(finished.size(), 1u);
  const std::uint64_t job = queued[0].f[0];
  EXPECT_EQ(job, 1u);  // the loop's first job
  EXPECT_EQ(queued[0].task, main_id);
  EXPECT_EQ(started[0].task, main_id);
  EXPECT_EQ(finished[0].task, main_id);
  EXPECT_EQ(started[0].f[0], job);
  EXPECT_EQ(finished[0].f[0], job);
  // Both recorded when the completion arrived, each saying how long before it happened.
  EXPECT_EQ(started[0].ticks, finished[0].ticks);
  EXPECT_GE(started[0].f[1], finished[0].f[1]);
  // The task waits on the job it submitted, and the events come in their order.
  const std::size_t suspended = index_of(d, EventKind::kTaskSuspended, main_id);
  ASSERT_LT(suspended, d.events.size());
  EXPECT_EQ(d.events[suspended].arg, static_cast<std::uint16_t>(detail::SuspendReason::kThreadJob));
  EXPECT_EQ(d.events[suspended].f[0], job);
  EXPECT_LT(index_of(d, EventKind::kThreadJobQueued, main_id), suspended);
  EXPECT_LT(suspended, index_of(d, EventKind::kThreadJobStarted, main_id));
  EXPECT_LT(index_of(d, EventKind::kThreadJobStarted, main_id),
            index_of(d, EventKind::kThreadJobFinished, main_id));
}

Task<int> getter(Queue<int>* queue) {
  co_return co_await queue->get();
}

struct WaitIds {
  std::uint32_t main = 0;
  std::uint32_t child = 0;
  std::uint32_t getters[3] = {0, 0, 0};  // NOLINT(modernize-avoid-c-arrays): a test record
};

Task<WaitIds> waits_main() {
  WaitIds ids;
  ids.main = current_id();
  Queue<int> first(1);
  Queue<int> second(1);
  auto child = spawn(sleeper(1ms));
  ids.child = static_cast<std::uint32_t>(child.id());
  co_await child;
  auto a = spawn(getter(&first));
  auto b = spawn(getter(&second));
  auto c = spawn(getter(&first));
  co_await sleep(0ms);  // the getters find their queues empty and wait
  co_await first.put(1);
  co_await second.put(2);
  co_await first.put(3);
  EXPECT_EQ(co_await a + co_await b + co_await c, 6);
  ids.getters[0] = static_cast<std::uint32_t>(a.id());
  ids.getters[1] = static_cast<std::uint32_t>(b.id());
  ids.getters[2] = static_cast<std::uint32_t>(c.id());
  co_return ids;
}

TEST(TraceRecordedEvents, ASuspendedTaskNamesWhatItWaitsOn) {
  WaitIds ids;
  const Decoded d = run_traced(waits_main(), "trace_waits", ids);
  // Awaiting a task: that task's id.
  const std::size_t awaits = index_of(d, EventKind::kTaskSuspended, ids.main);
  ASSERT_LT(awaits, d.events.size());
  EXPECT_EQ(d.events[awaits].arg, static_cast<std::uint16_t>(detail::SuspendReason::kAwaitTask));
  EXPECT_EQ(d.events[awaits].f[0], ids.child);
  // A queue: a number per queue, the same for both getters of the first one.
  std::uint64_t object[3] = {0, 0, 0};  // NOLINT(modernize-avoid-c-arrays)
  for (int i = 0; i < 3; ++i) {
    const std::size_t k = index_of(d, EventKind::kTaskSuspended, ids.getters[i]);
    ASSERT_LT(k, d.events.size());
    EXPECT_EQ(d.events[k].arg, static_cast<std::uint16_t>(detail::SuspendReason::kQueueGet));
    object[i] = d.events[k].f[0];
  }
  EXPECT_NE(object[0], 0u);
  EXPECT_LT(object[0], 100u);  // numbered, not an address
  EXPECT_EQ(object[2], object[0]);
  EXPECT_NE(object[1], object[0]);
  EXPECT_NE(object[1], 0u);
}

Task<int> held_main() {
  // Holds the loop for 30 ms of the clock the sampler reads; the first sample was due at 10.
  static_cast<ManualClock&>(*current_loop().options().clock).advance(30ms);
  co_await sleep(0ms);
  co_return 0;
}

TEST(TraceRecordedEvents, LagSamplesAreRecordedWithTheirLag) {
  const std::string path = testing::trace_file("trace_lag");
  ManualClock clock;
  detail::set_debug_step_clock(&clock);  // the sampler measures with the loop's clock
  Options options;
  options.clock = &clock;
  options.trace_path = path;
  run(held_main(), options);
  detail::set_debug_step_clock(nullptr);
  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  const auto samples = of_kind(d, EventKind::kLagSample);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].task, 0u);
  EXPECT_EQ(samples[0].f[0], 20'000'000u);  // ns
}

}  // namespace
}  // namespace loopscope
