// The recording side end to end: a known program run with a trace path gives a trace file
// whose events match what the program did. The file is read with the format's own decoders.

#include "test_support.hpp"
#include "trace_reading.hpp"
#include <loopscope/loopscope.hpp>
#include <loopscope/probes/collector.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <latch>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::count;
using testing::Decoded;
using testing::read_trace;

// Options that trace into `path`, with the loop's timers on `clock`.
Options traced_on(ManualClock& clock, const std::string& path) {
  Options options;
  options.clock = &clock;
  options.trace_path = path;
  return options;
}

Task<int> leaf(int i) {
  co_await sleep(1ms);
  co_await sleep(0ms);
  if (i == 2) {
    throw std::runtime_error("leaf 2 fails");
  }
  co_return i;
}

Task<int> traced_main() {
  auto a = spawn(leaf(0), "first leaf");
  auto b = spawn(leaf(1));
  auto c = spawn(leaf(2));
  int sum = co_await a + co_await b;
  try {
    co_await c;
  } catch (const std::runtime_error&) {
    sum += 100;
  }
  co_return sum;
}

TEST(TraceRecording, AKnownProgramGivesTheExpectedEvents) {
  const std::string path =
      ::testing::TempDir() + "/trace_recording_" + std::to_string(getpid()) + ".lstrace";
  ManualClock clock;
  const Options options = traced_on(clock, path);
  EXPECT_EQ(run(traced_main(), options), 101);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(d.end_written, d.events.size());  // emitted = written + dropped, none dropped
  EXPECT_EQ(d.end_dropped, 0u);
  EXPECT_EQ(d.threads.size(), 1u);
  EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), 4u);  // main and three leaves
  EXPECT_EQ(count(d, probes::EventKind::kTaskFinished), 4u);
  EXPECT_EQ(count(d, probes::EventKind::kTaskResumed),
            count(d, probes::EventKind::kTaskSuspended) + 4);  // every step ends
  // Each leaf: first step, after the sleep, after the yield: three steps.
  std::map<std::uint32_t, int> resumes;
  std::map<std::uint32_t, std::uint16_t> finish_state;
  std::map<std::uint32_t, std::string> function;
  std::map<std::uint32_t, std::string> site_file;
  for (const auto& e : d.events) {
    if (e.kind == probes::EventKind::kTaskResumed) {
      ++resumes[e.task];
    } else if (e.kind == probes::EventKind::kTaskFinished) {
      finish_state[e.task] = e.arg;
    } else if (e.kind == probes::EventKind::kTaskCreated) {
      function[e.task] = d.strings.at(d.locations.at(e.f[1]).function);
      site_file[e.task] = d.strings.at(d.locations.at(e.f[2]).file);
    }
  }
  int leaves = 0;
  std::vector<std::uint32_t> failed;
  for (const auto& [task, name] : function) {
    if (name.find("leaf") != std::string::npos) {
      ++leaves;
      EXPECT_EQ(resumes[task], 3) << name;
      EXPECT_NE(site_file[task].find("trace_recording_test.cpp"), std::string::npos);
      if (finish_state[task] == static_cast<std::uint16_t>(detail::TaskState::kFailed)) {
        failed.push_back(task);
      }
    }
  }
  EXPECT_EQ(leaves, 3);
  ASSERT_EQ(failed.size(), 1u);
  // What the failed leaf's exception said, and nothing for the others.
  EXPECT_EQ(d.task_errors, (std::map<std::uint64_t, std::string>{{failed[0], "leaf 2 fails"}}));
  EXPECT_EQ(d.task_names, (std::vector<std::string>{"first leaf"}));
  // Ticks never go backwards within the thread.
  for (std::size_t i = 1; i < d.events.size(); ++i) {
    EXPECT_GE(d.events[i].ticks, d.events[i - 1].ticks);
  }
}

Task<int> small_program(std::latch* both_started) {
  // Hold until the other loop runs too, so that both record into the same trace at once.
  auto arrive = [both_started] { both_started->arrive_and_wait(); };
  co_await to_thread(arrive);
  int sum = 0;
  for (int i = 0; i < 4; ++i) {
    sum += co_await spawn(leaf(i == 2 ? 3 : i));
  }
  co_return sum;
}

TEST(TraceRecording, TwoLoopThreadsWritingOneTraceGiveTwoTracks) {
  const std::string path =
      ::testing::TempDir() + "/trace_two_loops_" + std::to_string(getpid()) + ".lstrace";
  std::latch both_started(2);
  auto loop_thread = [&path, &both_started] {
    ManualClock clock;
    Options options;
    options.clock = &clock;
    options.trace_path = path;
    EXPECT_EQ(run(small_program(&both_started), options), 0 + 1 + 3 + 3);
  };
  std::thread a(loop_thread);
  std::thread b(loop_thread);
  a.join();
  b.join();
  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(d.end_written, d.events.size());
  EXPECT_EQ(d.end_dropped, 0u);
  EXPECT_EQ(d.threads.size(), 2u);                            // one track per loop thread
  EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), 10u);  // 5 tasks in each loop
}

Task<int> yielder(int yields) {
  for (int i = 0; i < yields; ++i) {
    co_await sleep(0ms);
  }
  co_return yields;
}

Task<int> round_robin(int tasks, int yields) {
  std::vector<TaskHandle<int>> handles;
  handles.reserve(static_cast<std::size_t>(tasks));
  for (int i = 0; i < tasks; ++i) {
    handles.push_back(spawn(yielder(yields)));
  }
  int total = 0;
  for (const int n : co_await gather(std::move(handles))) {
    total += n;
  }
  co_return total;
}

// Most of these steps are recorded in one slot without a clock read (probes/event.hpp): the
// trace must still hold every resume and every end, paired, in time order.
TEST(TraceRecording, StepsRecordedWithoutTheirOwnClockReadStillPairAndCountExactly) {
  constexpr int kTasks = 50;
  constexpr int kYields = 200;
  const std::string path = testing::trace_file("trace_windows");
  Options options;
  options.trace_path = path;
  EXPECT_EQ(run(round_robin(kTasks, kYields), options), kTasks * kYields);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(d.end_written, d.events.size());
  EXPECT_EQ(d.end_dropped, 0u);
  std::map<std::uint32_t, int> resumes;
  std::map<std::uint32_t, int> yields;
  std::uint32_t open = 0;  // the task whose step is running
  for (std::size_t i = 0; i < d.events.size(); ++i) {
    const auto& e = d.events[i];
    if (i > 0) {
      ASSERT_GE(e.ticks, d.events[i - 1].ticks) << "event " << i;
    }
    if (e.kind == probes::EventKind::kTaskResumed) {
      ASSERT_EQ(open, 0u) << "a step began inside another, event " << i;
      open = e.task;
      ++resumes[e.task];
    } else if (e.kind == probes::EventKind::kTaskSuspended ||
               e.kind == probes::EventKind::kTaskFinished) {
      ASSERT_EQ(open, e.task) << "a step ended that had not begun, event " << i;
      open = 0;
      yields[e.task] += e.kind == probes::EventKind::kTaskSuspended &&
                        e.arg == static_cast<std::uint16_t>(detail::SuspendReason::kYield);
    }
  }
  EXPECT_EQ(open, 0u);
  int yielders = 0;
  for (const auto& [task, n] : yields) {
    if (n == kYields) {
      ++yielders;
      EXPECT_EQ(resumes[task], kYields + 1);  // the first step, then one after each yield
    }
  }
  EXPECT_EQ(yielders, kTasks);
  EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), kTasks + 1u);
  EXPECT_EQ(count(d, probes::EventKind::kTaskFinished), kTasks + 1u);
}

// A ring far too small for what the loop records, and a collector that drains it only at
// the end: the loop never waits, drops what does not fit, windows of steps whose ends skip
// the room check included, and counts every event it dropped: written + dropped is what the
// same program records with the default ring.
TEST(TraceRecording, AFullRingDropsStepsAndCountsEveryEventItDropped) {
  constexpr int kTasks = 50;
  constexpr int kYields = 200;
  Options options;
  options.lag_sample_interval = std::chrono::milliseconds(0);  // samples follow the wall clock
  options.trace_path = testing::trace_file("trace_roomy_ring");
  EXPECT_EQ(run(round_robin(kTasks, kYields), options), kTasks * kYields);
  const Decoded all = read_trace(options.trace_path);
  std::remove(options.trace_path.c_str());
  ASSERT_TRUE(all.ended);
  ASSERT_EQ(all.end_dropped, 0u);

  for (const std::size_t words : {std::size_t{128}, std::size_t{1024}}) {
    options.trace_path = testing::trace_file("trace_small_ring_" + std::to_string(words));
    auto collector = probes::Collector::shared(
        options.trace_path, probes::CollectorOptions{.ring_words = words,
                                                     .drain_interval_ms = 3'600'000,
                                                     .busy_drain_interval_ms = 3'600'000});
    EXPECT_EQ(run(round_robin(kTasks, kYields), options), kTasks * kYields);
    collector.reset();  // drains the ring and writes the end chunk
    const Decoded d = read_trace(options.trace_path);
    std::remove(options.trace_path.c_str());
    ASSERT_TRUE(d.ended);
    EXPECT_EQ(d.end_written, d.events.size());
    EXPECT_GT(d.end_dropped, 0u) << words;
    EXPECT_LE(d.events.size(), 2 * words);  // a word stands for two events at most
    EXPECT_EQ(d.end_written + d.end_dropped, all.events.size()) << words;
  }
}

Task<int> returns_or_throws(int i) {
  if (i % 7 == 3) {
    throw std::runtime_error("every seventh fails");
  }
  co_return i;
}

Task<int> spawn_then_join(int tasks) {
  std::vector<TaskHandle<int>> handles;
  handles.reserve(static_cast<std::size_t>(tasks));
  for (int i = 0; i < tasks; ++i) {
    handles.push_back(spawn(returns_or_throws(i)));
  }
  int failures = 0;
  for (auto& handle : handles) {
    try {
      co_await handle;
    } catch (const std::runtime_error&) {
      ++failures;
    }
  }
  co_return failures;
}

// Tasks that end in their first step, most of them inside a window of untimed steps: each
// end must still say how the task ended, and a failure its exception's type.
TEST(TraceRecording, EveryTaskThatEndsInItsFirstStepSaysHowItEnded) {
  constexpr int kTasks = 2000;
  const std::string path = testing::trace_file("trace_first_step_ends");
  Options options;
  options.trace_path = path;
  const int failures = run(spawn_then_join(kTasks), options);
  EXPECT_EQ(failures, (kTasks - 3 + 6) / 7);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(d.end_dropped, 0u);
  std::map<std::uint32_t, std::uint32_t> index;  // task id -> i of returns_or_throws(i)
  std::uint32_t created = 0;
  for (const auto& e : d.events) {
    if (e.kind == probes::EventKind::kTaskCreated &&
        d.strings.at(d.locations.at(e.f[1]).function).find("returns_or_throws") !=
            std::string::npos) {
      index[e.task] = created++;  // spawned in order
    }
  }
  ASSERT_EQ(created, static_cast<std::uint32_t>(kTasks));
  int done = 0;
  int failed = 0;
  for (const auto& e : d.events) {
    const auto it = index.find(e.task);
    if (e.kind != probes::EventKind::kTaskFinished || it == index.end()) {
      continue;
    }
    if (it->second % 7 == 3) {
      ++failed;
      EXPECT_EQ(e.arg, static_cast<std::uint16_t>(detail::TaskState::kFailed)) << it->second;
      EXPECT_NE(d.strings.at(e.f[0]).find("runtime_error"), std::string::npos) << it->second;
    } else {
      ++done;
      EXPECT_EQ(e.arg, static_cast<std::uint16_t>(detail::TaskState::kDone)) << it->second;
    }
  }
  EXPECT_EQ(failed, failures);
  EXPECT_EQ(done + failed, kTasks);
}

// The same tasks on a ring too small for them, drained only at the end: the spawns fit (one
// run of spawns, two words), the ends of the steps that finish the tasks inside windows (one
// word, two with the exception's type) skip the room check, fill what is left and are
// dropped after that, each counted.
TEST(TraceRecording, AFullRingCountsTheEndsOfTasksThatReturnedOrFailedInsideAWindow) {
  struct Case {
    std::size_t words;
    int tasks;
  };
  for (const Case c : {Case{128, 150}, Case{1024, 1200}}) {
    Options options;
    options.lag_sample_interval = std::chrono::milliseconds(0);  // samples follow the wall clock
    options.trace_path = testing::trace_file("trace_first_step_ends_roomy");
    const int failures = run(spawn_then_join(c.tasks), options);
    const Decoded all = read_trace(options.trace_path);
    std::remove(options.trace_path.c_str());
    ASSERT_TRUE(all.ended);
    ASSERT_EQ(all.end_dropped, 0u);

    options.trace_path = testing::trace_file("trace_first_step_ends_" + std::to_string(c.words));
    auto collector = probes::Collector::shared(
        options.trace_path, probes::CollectorOptions{.ring_words = c.words,
                                                     .drain_interval_ms = 3'600'000,
                                                     .busy_drain_interval_ms = 3'600'000});
    EXPECT_EQ(run(spawn_then_join(c.tasks), options), failures);
    collector.reset();  // drains the ring and writes the end chunk
    const Decoded d = read_trace(options.trace_path);
    std::remove(options.trace_path.c_str());
    ASSERT_TRUE(d.ended);
    EXPECT_EQ(d.end_written, d.events.size());
    EXPECT_GT(d.end_dropped, 0u) << c.words;
    EXPECT_EQ(d.end_written + d.end_dropped, all.events.size()) << c.words;
    std::size_t created = 0;
    std::size_t failed_ends = 0;
    for (const auto& e : d.events) {
      created += e.kind == probes::EventKind::kTaskCreated ? 1 : 0;
      if (e.kind == probes::EventKind::kTaskFinished &&
          e.arg == static_cast<std::uint16_t>(detail::TaskState::kFailed)) {
        ++failed_ends;
        EXPECT_NE(d.strings.at(e.f[0]).find("runtime_error"), std::string::npos);
      }
    }
    EXPECT_EQ(created, static_cast<std::size_t>(c.tasks) + 1) << c.words;  // and the main task
    EXPECT_GT(failed_ends, 0u) << c.words;  // two-word ends among those that fit
  }
}

Task<int> value(int i) {
  co_return i;
}

std::uint32_t g_gather_line = 0;
std::uint32_t g_vector_line = 0;
std::uint32_t g_shield_line = 0;

Task<int> gathering_main() {
  g_gather_line = __LINE__ + 1;
  auto [a, b] = co_await gather(value(1), value(2));
  std::vector<Task<int>> more;
  more.push_back(value(3));
  more.push_back(value(4));
  g_vector_line = __LINE__ + 1;
  const std::vector<int> rest = co_await gather(std::move(more));
  g_shield_line = __LINE__ + 1;
  const int c = co_await shield(value(5));
  co_return a + b + rest[0] + rest[1] + c;
}

TEST(TraceRecording, GatherAndShieldNameTheCallersLineAsTheSpawnSite) {
  const std::string path = testing::trace_file("trace_sites");
  ManualClock clock;
  const Options options = traced_on(clock, path);
  EXPECT_EQ(run(gathering_main(), options), 15);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  std::multiset<std::uint32_t> lines;
  for (const auto& e : d.events) {
    if (e.kind != probes::EventKind::kTaskCreated || e.f[0] == 0) {
      continue;  // main has no parent
    }
    const auto& site = d.locations.at(e.f[2]);
    EXPECT_NE(d.strings.at(site.file).find("trace_recording_test.cpp"), std::string::npos);
    EXPECT_EQ(d.strings.at(site.function), "gathering_main");
    lines.insert(static_cast<std::uint32_t>(site.line));
  }
  EXPECT_EQ(lines, (std::multiset<std::uint32_t>{g_gather_line, g_gather_line, g_vector_line,
                                                 g_vector_line, g_shield_line}));
}

Task<int> other_value(int i) {
  co_return -i;
}

std::uint32_t g_value_line = 0;
std::uint32_t g_other_line = 0;

// Spawns from two sites in turn, one of them with two coroutines: the trace records the
// first spawn of each (site, coroutine) in full and the rest by number.
Task<int> spawning_main() {
  std::vector<TaskHandle<int>> tasks;
  for (int i = 0; i < 300; ++i) {
    if (i % 3 == 0) {
      g_other_line = __LINE__ + 1;
      tasks.push_back(spawn(other_value(i)));
    } else {
      g_value_line = __LINE__ + 1;
      tasks.push_back(i % 3 == 1 ? spawn(value(i)) : spawn(other_value(i)));
    }
  }
  int sum = 0;
  for (auto& t : tasks) {
    sum += co_await t;
  }
  co_return sum;
}

TEST(TraceRecording, EverySpawnFromARepeatedSiteNamesItsCoroutineLineAndParent) {
  const std::string path = testing::trace_file("trace_repeated_sites");
  ManualClock clock;
  const Options options = traced_on(clock, path);
  int expected = 0;
  for (int i = 0; i < 300; ++i) {
    expected += i % 3 == 1 ? i : -i;
  }
  EXPECT_EQ(run(spawning_main(), options), expected);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_EQ(d.end_dropped, 0u);
  std::uint64_t main_id = 0;
  int seen = 0;
  for (const auto& e : d.events) {
    if (e.kind != probes::EventKind::kTaskCreated) {
      continue;
    }
    if (e.f[0] == 0) {
      main_id = e.task;
      continue;
    }
    // Tasks are numbered in spawn order after main: the i-th spawn is task main + 1 + i.
    const int i = static_cast<int>(e.task - main_id - 1);
    SCOPED_TRACE(i);
    EXPECT_EQ(e.f[0], main_id);
    const std::string function = d.strings.at(d.locations.at(e.f[1]).function);
    EXPECT_NE(function.find(i % 3 == 1 ? "value" : "other_value"), std::string::npos);
    EXPECT_EQ(function.find("other_value") != std::string::npos, i % 3 != 1);
    const auto& site = d.locations.at(e.f[2]);
    EXPECT_EQ(d.strings.at(site.function), "spawning_main");
    EXPECT_EQ(site.line, i % 3 == 0 ? g_other_line : g_value_line);
    ++seen;
  }
  EXPECT_EQ(seen, 300);
}

// Spawns `n` tasks from two sites in turn, `apart` lines apart.
Task<int> spawning_from_two_sites(int n, std::uint32_t apart) {
  std::vector<TaskHandle<int>> tasks;
  const SourceLocation here = SourceLocation::current();
  for (int i = 0; i < n; ++i) {
    SourceLocation site = here;
    site.line = 1000 + (i % 2 == 0 ? 0 : apart);
    tasks.push_back(spawn(value(i), site));
  }
  int sum = 0;
  for (auto& t : tasks) {
    sum += co_await t;
  }
  co_return sum;
}

// Two busy spawn sites that share a slot of the loop's site cache (lines 64 apart, the same
// coroutine) keep their numbers: each spawn takes one ring word, as from two sites that do
// not, and a ring that holds those words drops nothing. Were the sites to evict each other,
// every spawn would be a six-word definition, and this ring would overflow.
TEST(TraceRecording, TwoBusySpawnSitesSharingACacheSlotKeepTheirNumbers) {
  constexpr int kTasks = 1000;
  std::uint64_t written_apart = 0;
  for (const std::uint32_t apart : {1u, 64u}) {
    SCOPED_TRACE(apart);
    Options options;
    options.lag_sample_interval = std::chrono::milliseconds(0);
    options.trace_path = testing::trace_file("trace_two_sites_" + std::to_string(apart));
    auto collector = probes::Collector::shared(
        options.trace_path, probes::CollectorOptions{.ring_words = 4096,
                                                     .drain_interval_ms = 3'600'000,
                                                     .busy_drain_interval_ms = 3'600'000});
    EXPECT_EQ(run(spawning_from_two_sites(kTasks, apart), options), kTasks * (kTasks - 1) / 2);
    collector.reset();
    const Decoded d = read_trace(options.trace_path);
    std::remove(options.trace_path.c_str());
    ASSERT_TRUE(d.ended);
    EXPECT_EQ(d.end_dropped, 0u);
    EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), kTasks + 1u);
    int from_each[2] = {0, 0};
    for (const auto& e : d.events) {
      if (e.kind == probes::EventKind::kTaskCreated && e.f[0] != 0) {
        const std::uint32_t line = d.locations.at(e.f[2]).line;
        ASSERT_TRUE(line == 1000 || line == 1000 + apart) << line;
        ++from_each[line == 1000 ? 0 : 1];
      }
    }
    EXPECT_EQ(from_each[0], kTasks / 2);
    EXPECT_EQ(from_each[1], kTasks / 2);
    if (apart == 1) {
      written_apart = d.end_written;
    } else {
      EXPECT_EQ(d.end_written, written_apart);
    }
  }
}

// Spawns from two sites (lines 2000 and 2001) in two steps: ten in the first, in three runs
// with a to_thread job after them, and four in the second.
Task<int> spawning_in_runs() {
  std::vector<TaskHandle<int>> tasks;
  SourceLocation a = SourceLocation::current();
  SourceLocation b = a;
  a.line = 2000;
  b.line = 2001;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back(spawn(value(i), i == 5 || i == 6 ? b : a));
  }
  int sum = co_await to_thread([] { return 1000; });
  for (int i = 10; i < 14; ++i) {
    tasks.push_back(spawn(value(i), a));
  }
  for (auto& t : tasks) {
    sum += co_await t;
  }
  co_return sum;
}

// The spawns of a step are recorded as runs (one ring event for a loop of spawns from one
// site), yet the trace has every task_created in spawn order, with its own id, site and
// parent, and the step's other events where they happened: the job after the first ten.
TEST(TraceRecording, RunsOfSpawnsComeBackAsEveryTaskCreatedInOrderAmongTheStepsEvents) {
  const std::string path = testing::trace_file("trace_spawn_runs");
  Options options;
  options.trace_path = path;
  EXPECT_EQ(run(spawning_in_runs(), options), 1000 + 13 * 14 / 2);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  ASSERT_EQ(d.end_dropped, 0u);
  std::uint64_t main_id = 0;
  std::vector<std::string> seen;  // "created <i> <line>" and "queued" in trace order
  std::uint64_t first_step_ticks = 0;
  for (const auto& e : d.events) {
    if (e.kind == probes::EventKind::kThreadJobQueued) {
      seen.emplace_back("queued");
      EXPECT_EQ(e.ticks, first_step_ticks);  // at the step's beginning, as its spawns
      continue;
    }
    if (e.kind != probes::EventKind::kTaskCreated) {
      continue;
    }
    if (e.f[0] == 0) {
      main_id = e.task;
      continue;
    }
    EXPECT_EQ(e.f[0], main_id) << e.task;
    const std::uint64_t i = e.task - main_id - 1;
    if (i == 0) {
      first_step_ticks = e.ticks;
    } else if (i < 10) {
      EXPECT_EQ(e.ticks, first_step_ticks) << i;
    } else {
      EXPECT_GT(e.ticks, first_step_ticks) << i;
    }
    EXPECT_NE(d.strings.at(d.locations.at(e.f[1]).function).find("value"), std::string::npos);
    seen.push_back("created " + std::to_string(i) + " " +
                   std::to_string(d.locations.at(e.f[2]).line));
  }
  const std::vector<std::string> expected{
      "created 0 2000", "created 1 2000",  "created 2 2000",  "created 3 2000",  "created 4 2000",
      "created 5 2001", "created 6 2001",  "created 7 2000",  "created 8 2000",  "created 9 2000",
      "queued",         "created 10 2000", "created 11 2000", "created 12 2000", "created 13 2000"};
  EXPECT_EQ(seen, expected);
}

// A loop of 5,000 spawns in one step is one run, two ring words: on a ring of 1,024 words,
// not drained while the loop runs, every task_created fits (the ends of the tasks' steps
// overflow it after them, each counted).
TEST(TraceRecording, ALoopOfSpawnsInOneStepTakesTwoRingWordsHoweverLong) {
  constexpr int kTasks = 5'000;
  // In debug mode (and more so under a sanitizer) a step that spawns 5,000 tasks, each with
  // its creation stack, may be long enough to be reported.
  const testing::WarningRecorder long_step{WarningKind::kSlowCallback, WarningKind::kStall,
                                           WarningKind::kLoopLag};
  Options options;
  options.lag_sample_interval = std::chrono::milliseconds(0);
  options.trace_path = testing::trace_file("trace_spawn_loop_roomy");
  const int failures = run(spawn_then_join(kTasks), options);
  const Decoded all = read_trace(options.trace_path);
  std::remove(options.trace_path.c_str());
  ASSERT_TRUE(all.ended);
  ASSERT_EQ(all.end_dropped, 0u);

  options.trace_path = testing::trace_file("trace_spawn_loop_1024");
  auto collector = probes::Collector::shared(
      options.trace_path,
      probes::CollectorOptions{
          .ring_words = 1024, .drain_interval_ms = 3'600'000, .busy_drain_interval_ms = 3'600'000});
  EXPECT_EQ(run(spawn_then_join(kTasks), options), failures);
  collector.reset();
  const Decoded d = read_trace(options.trace_path);
  std::remove(options.trace_path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), kTasks + 1u);  // and the main task
  EXPECT_GT(d.end_dropped, 0u);
  EXPECT_EQ(d.end_written + d.end_dropped, all.events.size());
}

// A task's result whose destructor spawns a task: with the handle dropped, the frame and
// the result go as the task finishes, after its end is written (a task that returns inside
// a window writes its end at once).
struct SpawnsWhenDestroyed {
  bool armed = false;
  SpawnsWhenDestroyed() = default;
  SpawnsWhenDestroyed(SpawnsWhenDestroyed&& other) noexcept
      : armed(std::exchange(other.armed, false)) {}
  SpawnsWhenDestroyed(const SpawnsWhenDestroyed&) = delete;
  SpawnsWhenDestroyed& operator=(const SpawnsWhenDestroyed&) = delete;
  SpawnsWhenDestroyed& operator=(SpawnsWhenDestroyed&&) = delete;
  ~SpawnsWhenDestroyed() {
    if (armed) {
      (void)spawn(value(7));
    }
  }
};

Task<SpawnsWhenDestroyed> leaves_a_spawner() {
  SpawnsWhenDestroyed result;
  result.armed = true;
  co_return result;
}

bool g_debug_mode = false;

Task<int> spawning_from_finished_tasks(int n) {
  g_debug_mode = current_loop().debug_state() != nullptr;
  for (int i = 0; i < n; ++i) {
    (void)spawn(leaves_a_spawner());
  }
  co_await sleep(0ms);  // the n tasks run, finish, and spawn one task each
  co_await sleep(0ms);  // which run
  co_return 0;
}

// Every task spawned as another one finishes is in the trace with that task as its parent
// (after that task's end when the end was written at once, inside its step otherwise), and
// every task's steps pair up: a resume, then a suspend or a finish. In debug mode the step
// monitor holds each task until after its step, so the result goes, and spawns, between
// steps: with no parent.
TEST(TraceRecording, ATaskSpawnedAsItsParentFinishesHasItsParentAndTheStepsPairUp) {
  constexpr int kTasks = 300;
  const std::string path = testing::trace_file("trace_spawn_after_end");
  Options options;
  options.trace_path = path;
  EXPECT_EQ(run(spawning_from_finished_tasks(kTasks), options), 0);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  ASSERT_EQ(d.end_dropped, 0u);
  std::set<std::uint32_t> spawners;
  std::set<std::uint32_t> finished;
  std::map<std::uint32_t, int> open;  // task -> resumes minus step ends
  int spawned = 0;
  int after_end = 0;
  for (const auto& e : d.events) {
    switch (e.kind) {
      case probes::EventKind::kTaskResumed:
        EXPECT_EQ(open[e.task]++, 0) << e.task;
        break;
      case probes::EventKind::kTaskSuspended:
        EXPECT_EQ(open[e.task]--, 1) << e.task;
        break;
      case probes::EventKind::kTaskFinished:
        EXPECT_EQ(open[e.task]--, 1) << e.task;
        EXPECT_TRUE(finished.insert(e.task).second) << e.task;
        break;
      case probes::EventKind::kTaskCreated: {
        const std::string function = d.strings.at(d.locations.at(e.f[1]).function);
        if (function.find("leaves_a_spawner") != std::string::npos) {
          spawners.insert(e.task);
        } else if (function.find("value") != std::string::npos) {
          ++spawned;
          const auto parent = static_cast<std::uint32_t>(e.f[0]);
          if (g_debug_mode) {
            EXPECT_EQ(parent, 0u);
          } else {
            EXPECT_EQ(spawners.count(parent), 1u) << parent;
          }
          after_end += finished.count(parent) != 0 ? 1 : 0;
        }
        break;
      }
      default:
        break;
    }
  }
  EXPECT_EQ(spawners.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(spawned, kTasks);
  if (!g_debug_mode) {
    EXPECT_GT(after_end, 0);  // ends written at once, inside windows
  }
  EXPECT_EQ(finished.size(), 2u * kTasks + 1);
  for (const auto& [task, steps] : open) {
    EXPECT_EQ(steps, 0) << task;
  }
}

TEST(TraceRecording, AnUnwritablePathIsAClearError) {
  const testing::WarningRecorder warnings{WarningKind::kNeverAwaited};  // the refused task
  Options options;
  options.trace_path = "/nonexistent-directory/x.lstrace";
  auto amain = []() -> Task<int> { co_return 1; };
  EXPECT_THROW(run(amain(), options), std::system_error);
  EXPECT_THROW(current_loop(), Error);  // the failed run left no loop behind
  EXPECT_EQ(run(amain()), 1);           // and the thread can run one again
}

}  // namespace
}  // namespace loopscope
