// Debug mode's stall check: the watchdog thread samples the stack of a loop thread stuck in
// a step past Options::stall_duration. The stalled steps here block until the stall is
// reported (the observer releases them), so nothing waits for a fixed time.

#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <dirent.h>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;

// ThreadSanitizer hands a signal to the program's handler only when the thread next passes
// through one of its interceptors, not while it is blocked: the loop thread stuck in read()
// or usleep() is not sampled within the watchdog's wait, and the stall is reported without
// its stack ("could not be sampled"). The tests that need the sampled stack say so there.
#if defined(__SANITIZE_THREAD__)
constexpr bool kSignalsArrivePromptly = false;
#else
constexpr bool kSignalsArrivePromptly = true;
#endif
constexpr const char* kNoPromptSignals =
    "ThreadSanitizer delays signals to a blocked thread: no stack can be sampled";

Task<int> nap_once() {
  co_return usleep(1);
}

// Symbolizes a finding of a debug loop once, so that the debug information of the runtime
// and of this file is loaded: a first finding symbolized inside a stalled step (which can
// take longer than the 20 ms threshold) would be what the stack sample catches, instead of
// the call that blocks.
void warm_up_the_symbolizer() {
  WarningObserver previous = set_warning_observer([](const Warning& /*ignored*/) {});
  Options options;
  options.debug = true;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  run(nap_once(), options);
  set_warning_observer(std::move(previous));
  detail::reset_reported_sites();
}

// Records every finding and, on a stall, writes a byte into a pipe (what the stalled step
// reads, blocking).
class StallObserver {
 public:
  StallObserver() {
    EXPECT_EQ(pipe(fds_.data()), 0);
    warm_up_the_symbolizer();
    previous_ = set_warning_observer([this](const Warning& w) {
      const std::lock_guard lock(mutex_);
      warnings_.push_back(w);
      if (w.kind == WarningKind::kStall) {
        const char byte = 1;
        EXPECT_EQ(::write(fds_[1], &byte, 1), 1);
      }
    });
  }
  StallObserver(const StallObserver&) = delete;
  StallObserver& operator=(const StallObserver&) = delete;
  StallObserver(StallObserver&&) = delete;
  StallObserver& operator=(StallObserver&&) = delete;
  ~StallObserver() {
    set_warning_observer(std::move(previous_));
    close(fds_[0]);
    close(fds_[1]);
  }

  [[nodiscard]] int released_by_stall() const { return fds_[0]; }
  [[nodiscard]] std::vector<Warning> findings(WarningKind kind) const {
    const std::lock_guard lock(mutex_);
    std::vector<Warning> found;
    for (const Warning& w : warnings_) {
      if (w.kind == kind) {
        found.push_back(w);
      }
    }
    return found;
  }
  [[nodiscard]] std::vector<Warning> stalls() const { return findings(WarningKind::kStall); }

 private:
  std::array<int, 2> fds_{-1, -1};
  mutable std::mutex mutex_;
  std::vector<Warning> warnings_;
  WarningObserver previous_;
};

template <class T>
T run_stalling(Task<T> main, bool debug = true) {
  Options options;
  options.debug = debug;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  options.stall_duration = 20ms;
  options.slow_callback_duration = 1h;
  return run(std::move(main), options);
}

// Blocks the loop in read() until the watchdog has reported the stall.
Task<void> wait_for_the_watchdog(int fd) {
  char byte = 0;
  EXPECT_EQ(::read(fd, &byte, 1), 1);
  co_return;
}

// The index of the first frame in this file, or -1.
int frame_in_this_file(const Warning& warning) {
  for (std::size_t i = 0; i < warning.frames.size(); ++i) {
    if (warning.frames[i].file.find("stall_watchdog_test.cpp") != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

TEST(StallWatchdog, AStalledStepIsReportedWithTheFrameThatBlocks) {
  if (!kSignalsArrivePromptly) {
    GTEST_SKIP() << kNoPromptSignals;
  }
  const StallObserver observer;
  run_stalling(wait_for_the_watchdog(observer.released_by_stall()));
  const std::vector<Warning> stalls = observer.stalls();
  ASSERT_EQ(stalls.size(), 1U);
  const std::string& message = stalls[0].message;
  EXPECT_EQ(message.rfind("the loop has been blocked for ", 0), 0U) << message;
  EXPECT_NE(message.find(" in task 'Task-1' (coroutine "), std::string::npos) << message;
  EXPECT_NE(message.find("wait_for_the_watchdog"), std::string::npos) << message;
  // Innermost first: the read the step is blocked in, then the coroutine that called it.
  const int user = frame_in_this_file(stalls[0]);
  ASSERT_GT(user, 0) << "no frame in the test before the blocking call";
  EXPECT_NE(stalls[0].frames[static_cast<std::size_t>(user)].function.find("wait_for_the_watchdog"),
            std::string::npos);
  EXPECT_NE(stalls[0].frames[0].function.find("read"), std::string::npos)
      << stalls[0].frames[0].function;
}

TEST(StallWatchdog, ACallbackThatStallsIsNamedByItsType) {
  if (!kSignalsArrivePromptly) {
    GTEST_SKIP() << kNoPromptSignals;
  }
  const StallObserver observer;
  auto amain = [](int fd) -> Task<void> {
    current_loop().call_soon([fd] {
      char byte = 0;
      EXPECT_EQ(::read(fd, &byte, 1), 1);
    });
    co_await sleep(0s);
  };
  run_stalling(amain(observer.released_by_stall()));
  const std::vector<Warning> stalls = observer.stalls();
  ASSERT_EQ(stalls.size(), 1U);
  EXPECT_NE(stalls[0].message.find(" in callback '"), std::string::npos) << stalls[0].message;
  EXPECT_NE(stalls[0].message.find("lambda"), std::string::npos) << stalls[0].message;
  const std::vector<Warning> reads = observer.findings(WarningKind::kBlockingCall);
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_NE(reads[0].message.find("read() on the event loop thread in callback '"),
            std::string::npos)
      << reads[0].message;
}

// Sleeps until the watchdog has reported a stall, checking that no sleep was cut short by
// the stack sample's signal.
Task<int> sleep_through_a_sample(const StallObserver* observer) {
  int short_sleeps = 0;
  while (observer->stalls().empty()) {
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(usleep(30'000), 0) << "errno " << errno;
    short_sleeps += std::chrono::steady_clock::now() - before < 30ms ? 1 : 0;
  }
  co_return short_sleeps;
}

TEST(StallWatchdog, SamplingTheStackDoesNotCutASleepShort) {
  if (!kSignalsArrivePromptly) {
    GTEST_SKIP() << kNoPromptSignals;
  }
  const StallObserver observer;
  EXPECT_EQ(run_stalling(sleep_through_a_sample(&observer)), 0);
  const std::vector<Warning> stalls = observer.stalls();
  ASSERT_EQ(stalls.size(), 1U);
  bool usleep_frame = false;
  for (const StackFrame& frame : stalls[0].frames) {
    usleep_frame = usleep_frame || frame.function.find("sleep") != std::string::npos;
  }
  EXPECT_TRUE(usleep_frame);
}

Task<void> yield_often() {
  for (int i = 0; i < 1000; ++i) {
    co_await sleep(0s);
  }
}

Task<void> short_steps_then_a_stall(int fd) {
  std::vector<TaskHandle<void>> yielders;
  yielders.reserve(50);
  for (int i = 0; i < 50; ++i) {
    yielders.push_back(spawn(yield_often()));
  }
  co_await sleep(0s);
  co_await spawn(wait_for_the_watchdog(fd));  // among the yielders' steps
  for (auto& yielder : yielders) {
    co_await yielder;
  }
}

TEST(StallWatchdog, ALongStepAmongManyShortOnesIsReportedAsSlowWhenItEnds) {
  const StallObserver observer;
  Options options;
  options.debug = true;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  options.stall_duration = 20ms;
  options.slow_callback_duration = 10ms;
  run(short_steps_then_a_stall(observer.released_by_stall()), options);
  ASSERT_EQ(observer.stalls().size(), 1U);
  const std::vector<Warning> slow = observer.findings(WarningKind::kSlowCallback);
  ASSERT_EQ(slow.size(), 1U);
  EXPECT_NE(slow[0].message.find("wait_for_the_watchdog"), std::string::npos) << slow[0].message;
  // Its time leaves out the stall's report, which it waited for: debug mode's own time.
  EXPECT_NE(slow[0].message.find(") held the loop for "), std::string::npos) << slow[0].message;
}

std::atomic<int> user_signals{0};
void count_user_signal(int /*signal*/) {
  user_signals.fetch_add(1);
}

TEST(StallWatchdog, AUserHandlerOnARealTimeSignalIsLeftInPlace) {
  if (!kSignalsArrivePromptly) {
    GTEST_SKIP() << kNoPromptSignals;
  }
  // The highest real-time signal still free: the one the watchdog would have taken.
  int mine = SIGRTMAX;
  struct sigaction current {};
  while (mine >= SIGRTMIN && sigaction(mine, nullptr, &current) == 0 &&
         current.sa_handler != SIG_DFL) {
    --mine;
  }
  struct sigaction action {};
  action.sa_handler = &count_user_signal;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(mine, &action, nullptr), 0);
  const StallObserver observer;
  run_stalling(wait_for_the_watchdog(observer.released_by_stall()));
  ASSERT_EQ(observer.stalls().size(), 1U);
  EXPECT_GT(frame_in_this_file(observer.stalls()[0]), 0) << "the stack was sampled";
  ASSERT_EQ(sigaction(mine, nullptr, &current), 0);
  EXPECT_EQ(current.sa_handler, &count_user_signal);
  EXPECT_EQ(user_signals.load(), 0);
  signal(mine, SIG_DFL);
}

// Threads of this process named `name` (the watchdog names its thread).
int threads_named(const std::string& name) {
  int count = 0;
  DIR* tasks = opendir("/proc/self/task");
  // Only this thread reads the directory stream.
  while (const dirent* entry = readdir(tasks)) {  // NOLINT(concurrency-mt-unsafe)
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string line;
    count += std::getline(comm, line) && line == name ? 1 : 0;
  }
  closedir(tasks);
  return count;
}

// A thread that was just joined can still be listed for a moment, while the kernel finishes
// its exit (an earlier test's watchdog, say): leftovers get a bounded number of chances to
// go, so a thread that really stays still fails the check.
int threads_named_once_exited(const std::string& name, int expected) {
  int n = threads_named(name);
  for (int i = 0; i < 100'000 && n > expected; ++i) {
    std::this_thread::yield();
    n = threads_named(name);
  }
  return n;
}

Task<int> count_watchdogs() {
  co_return threads_named("loopscope-watch");
}

TEST(StallWatchdog, DebugModeRunsOneWatchdogThreadWhileTheLoopLives) {
  ASSERT_EQ(threads_named_once_exited("loopscope-watch", 0), 0);
  EXPECT_EQ(run_stalling(count_watchdogs()), 1);
  EXPECT_EQ(threads_named_once_exited("loopscope-watch", 0), 0);
}

TEST(StallWatchdog, WithoutDebugModeNoWatchdogThreadRuns) {
  EXPECT_EQ(run_stalling(count_watchdogs(), /*debug=*/false), 0);
}

}  // namespace
}  // namespace loopscope
