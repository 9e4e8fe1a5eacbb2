#include "stall_watchdog.hpp"

#include "blocking_calls.hpp"
#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/probes/stack.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <semaphore.h>
#include <string>
#include <sys/resource.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace loopscope::detail {

namespace {

constexpr std::size_t kSampleFrames = 64;
constexpr std::size_t kNameChars = 64;
// A loop thread that has not answered the signal by then has it blocked: the stall is
// reported without a stack.
constexpr std::int64_t kSampleTimeoutNs = 200'000'000;
// The watchdog never sleeps less than this between looks.
constexpr std::int64_t kMinWaitNs = 1'000'000;

// One stack sample: asked for by a watchdog, filled in by the signal handler on the loop
// thread, which sees the stalled step exactly as it is.
struct StackSample {
  const Loop* loop = nullptr;              // whose thread must answer
  const StepActivity* activity = nullptr;  // that loop's published step
  std::uint64_t sequence = 0;              // the step the watchdog saw stalled
  // ---- written by the handler ----
  bool same_step = false;
  std::size_t frame_count = 0;
  std::array<std::uintptr_t, kSampleFrames> frames{};
  bool is_callback = false;
  const char* callback_type = nullptr;  // mangled, static storage
  std::uint64_t task_id = 0;
  std::uintptr_t task_code = 0;  // the task's root coroutine
  std::size_t name_length = 0;   // 0: the task has no name of its own
  std::array<char, kNameChars> name{};
  sem_t answered{};
};

// The sample being taken. The handler claims it with a compare-exchange, so that a signal
// arriving after its watchdog gave up never writes into a sample meant for another thread.
std::atomic<StackSample*> g_pending_sample{nullptr};

// One sample at a time in the process (loops on several threads each have a watchdog).
std::mutex& sample_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Async-signal-safe: reads what the interrupted thread itself owns, copies, never allocates.
void describe_running(StackSample& sample, const ReadyNode* node) noexcept {
  if (node == nullptr) {
    return;
  }
  if (node->is_callback) {
    sample.is_callback = true;
    sample.callback_type = static_cast<const CallbackNode*>(node)->type_name();
    return;
  }
  const auto* task = static_cast<const PromiseBase*>(node);
  sample.task_id = task->id_;
  sample.task_code = task_code(*task);
  if (task->name_) {
    sample.name_length = std::min(task->name_->size(), kNameChars);
    std::memcpy(sample.name.data(), task->name_->data(), sample.name_length);
  }
}

void on_sample_signal(int /*signal*/, siginfo_t* /*info*/, void* /*context*/) {
  const int saved_errno = errno;
  StackSample* sample = g_pending_sample.load(std::memory_order_acquire);
  if (sample != nullptr && sample->loop == t_current_loop &&
      g_pending_sample.compare_exchange_strong(sample, nullptr, std::memory_order_acq_rel)) {
    ++t_stall_samples;
    sample->same_step =
        sample->activity->sequence.load(std::memory_order_relaxed) == sample->sequence;
    if (sample->same_step) {
      // Skips this handler and the kernel's signal frame (__restore_rt): the interrupted
      // function comes first.
      sample->frame_count = probes::capture_stack(sample->frames, 2);
      describe_running(*sample, sample->activity->node.load(std::memory_order_relaxed));
    }
    sem_post(&sample->answered);
  }
  errno = saved_errno;
}

// Installs the handler on the highest real-time signal nobody handles yet; 0 if none is
// free (stalls are then reported without a stack).
int install_sample_handler() noexcept {
  for (int signal = SIGRTMAX; signal >= SIGRTMIN; --signal) {
    struct sigaction current {};
    if (sigaction(signal, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) != 0 ||
        current.sa_handler != SIG_DFL) {
      continue;
    }
    struct sigaction action {};
    action.sa_sigaction = &on_sample_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(signal, &action, nullptr) == 0) {
      return signal;
    }
  }
  return 0;
}

int sample_signal() noexcept {
  static const int signal = install_sample_handler();
  return signal;
}

bool wait_for_answer(sem_t& answered) noexcept {
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  const std::int64_t ns = deadline.tv_nsec + kSampleTimeoutNs;
  deadline.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
  deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  int rc = 0;
  while ((rc = sem_clockwait(&answered, CLOCK_MONOTONIC, &deadline)) != 0 && errno == EINTR) {
  }
  return rc == 0;
}

// The calling thread's scheduler statistics, kept open to be read from the watchdog.
int open_schedstat() noexcept {
  std::array<char, 64> path{};
  std::snprintf(path.data(), path.size(), "/proc/self/task/%ld/schedstat",
                static_cast<long>(gettid()));
  return open(path.data(), O_RDONLY | O_CLOEXEC);
}

// Asks `thread` for its stack; false if it could not be sampled.
bool take_sample(StackSample& sample, pthread_t thread) {
  const int signal = sample_signal();
  if (signal == 0) {
    return false;
  }
  const std::lock_guard lock(sample_mutex());
  sem_init(&sample.answered, 0, 0);
  g_pending_sample.store(&sample, std::memory_order_release);
  bool answered = pthread_kill(thread, signal) == 0 && wait_for_answer(sample.answered);
  if (!answered) {
    StackSample* expected = &sample;
    if (!g_pending_sample.compare_exchange_strong(expected, nullptr)) {
      // The handler claimed the sample just now: its answer is on the way.
      while (sem_wait(&sample.answered) != 0 && errno == EINTR) {
      }
      answered = true;
    }
  }
  sem_destroy(&sample.answered);
  return answered;
}

// "in task 'Task-3' (coroutine fetch(int))", "in callback 'main()::{lambda()#1}'".
std::string describe_sampled(const StackSample& sample) {
  if (sample.is_callback) {
    return "in callback '" + demangled(sample.callback_type) + "'";
  }
  if (sample.task_code == 0) {
    return "";
  }
  const std::string name = sample.name_length > 0
                               ? std::string(sample.name.data(), sample.name_length)
                               : "Task-" + std::to_string(sample.task_id);
  return "in task '" + name + "' (coroutine " + code_name(sample.task_code) + ")";
}

// Stalls at the same place (the same functions on the user's stack) are reported once.
std::uintptr_t stall_site(std::span<const std::uintptr_t> stack) {
  std::size_t site = 0x5741'11;
  for (const StackFrame& frame : user_frames(stack)) {
    site = site * 31 + std::hash<std::string>{}(frame.function);
  }
  return site;
}

// Once per process, on the first watchdog's thread rather than the loop's.
// On a thread of its own, so that the watchdog looks at the loop meanwhile; not counted as
// reporting time, which steps and stalls leave out (no step waits for it). Nothing waits for
// it: not the findings (warm_up_symbols holds the report lock only to hand its symbols over),
// not fork(), not the end of the loop, not the process's exit. At the lowest priority on a
// busy machine it may take seconds, and the program must not wait that long for it.
void warm_up_symbolizer(std::span<const std::uintptr_t> loop_creation) {
  static std::atomic<bool> started{false};
  if (started.exchange(true)) {
    return;
  }
  std::vector<std::uintptr_t> stack(loop_creation.begin(), loop_creation.end());
  std::thread thread([stack = std::move(stack)] {
    // Background work, like the trace collector's: on a busy machine the observed program
    // goes first (a few hundred ms of DWARF reading at the start of every debug run).
    setpriority(PRIO_PROCESS, 0, 19);  // this thread only (Linux: 0 is the calling thread)
    set_reporting_uncounted();
    // libc, where a blocked loop thread usually is (the next clock_nanosleep after the
    // runtime's own wrapper of it).
    const std::array code{reinterpret_cast<std::uintptr_t>(dlsym(RTLD_NEXT, "clock_nanosleep"))};
    warm_up_symbols(stack, code);
  });
  pthread_setname_np(thread.native_handle(), "loopscope-warm");
  thread.detach();
}

}  // namespace

std::string demangled(const char* mangled) {
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

std::string describe_duration(std::int64_t ns) {
  std::array<char, 32> text{};
  if (ns >= 1'000'000'000) {
    std::snprintf(text.data(), text.size(), "%.1f s", static_cast<double>(ns) / 1e9);
  } else {
    std::snprintf(text.data(), text.size(), "%lld ms", static_cast<long long>(ns / 1'000'000));
  }
  return text.data();
}

StallWatchdog::StallWatchdog(Loop& loop, StepActivity& activity)
    : loop_(loop),
      activity_(activity),
      creation_depth_(probes::capture_stack(creation_stack_)),
      recorder_(loop.recorder()),
      threshold_ns_(std::chrono::nanoseconds(loop.options().stall_duration).count()),
      period_ns_(std::max<std::int64_t>(
          std::chrono::nanoseconds(
              std::min(loop.options().stall_duration, loop.options().slow_callback_duration))
                  .count() /
              4,
          kMinWaitNs)),
      loop_thread_(pthread_self()),
      schedstat_fd_(open_schedstat()),
      last_wake_ns_(steady_now_ns()),
      thread_([this] { watch(); }) {
  pthread_setname_np(thread_.native_handle(), "loopscope-watch");
  warm_up_symbolizer(std::span(creation_stack_.data(), creation_depth_));
  sample_signal();  // installed now, not from the watchdog thread in the middle of a stall
}

StallWatchdog::~StallWatchdog() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (schedstat_fd_ >= 0) {
    close(schedstat_fd_);
  }
}

std::int64_t StallWatchdog::run_delay_ns() const noexcept {
  if (schedstat_fd_ < 0) {
    return -1;
  }
  // "<ns on a CPU> <ns waiting for one> <time slices>"
  std::array<char, 96> text{};
  const ssize_t n = pread(schedstat_fd_, text.data(), text.size() - 1, 0);
  if (n <= 0) {
    return -1;
  }
  const char* end = text.data() + n;
  const char* second = std::find(static_cast<const char*>(text.data()), end, ' ');
  long long delay = -1;
  if (second == end || std::from_chars(second + 1, end, delay).ec != std::errc()) {
    return -1;
  }
  return delay;
}

void StallWatchdog::watch() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    const std::int64_t wait_ns = look();
    lock.lock();
    wake_.wait_for(lock, std::chrono::nanoseconds(wait_ns), [this] { return stop_; });
  }
}

std::int64_t StallWatchdog::look() {
  const std::int64_t now = steady_now_ns();
  const std::uint64_t step = activity_.sequence.load(std::memory_order_acquire);
  const bool again = step == seen_;
  const std::int64_t run_delay = run_delay_ns();
  if (!again) {
    seen_ = step;
    seen_after_ns_ = last_wake_ns_;
    run_delay_at_sighting_ns_ = run_delay_ns_;
    reporting_at_sighting_ns_ = reporting_ns();
  }
  last_wake_ns_ = now;
  run_delay_ns_ = run_delay;
  if (step % 2 == 0 || step == reported_ || reporting_under_way()) {
    // Between steps, a stall already reported, or a finding being reported (the loop
    // thread may be waiting for it): look again later.
    return period_ns_;
  }
  if (again) {
    flag_long(step);  // running for a period at least: the loop times it when it ends
  }
  // When the step started, at the earliest: after the loop's last clock read, and after the
  // last wake that did not see it running.
  const std::int64_t start =
      std::max(activity_.clock_read_ns.load(std::memory_order_relaxed), seen_after_ns_);
  // Less debug mode's own time and the time the thread waited for a CPU since then.
  std::int64_t elapsed = now - start - (reporting_ns() - reporting_at_sighting_ns_);
  if (run_delay >= 0 && run_delay_at_sighting_ns_ >= 0) {
    elapsed -= run_delay - run_delay_at_sighting_ns_;
  }
  if (elapsed < threshold_ns_) {
    return std::clamp(threshold_ns_ - elapsed, kMinWaitNs, period_ns_);
  }
  reported_ = step;  // once per stalled step
  flag_long(step);
  sample_and_report(step, elapsed);
  return period_ns_;
}

void StallWatchdog::flag_long(std::uint64_t step) noexcept {
  if (activity_.long_step.load(std::memory_order_relaxed) != step) {
    activity_.long_step_after_ns.store(seen_after_ns_, std::memory_order_relaxed);
    activity_.long_step_run_delay_ns.store(run_delay_at_sighting_ns_, std::memory_order_relaxed);
    activity_.long_step.store(step, std::memory_order_release);
  }
}

void StallWatchdog::sample_and_report(std::uint64_t sequence, std::int64_t elapsed_ns) {
  StackSample sample;
  sample.loop = &loop_;
  sample.activity = &activity_;
  sample.sequence = sequence;
  const bool sampled = take_sample(sample, loop_thread_);
  if (sampled && !sample.same_step) {
    return;  // the step ended while the signal was on its way
  }
  std::string message = "the loop has been blocked for " + describe_duration(elapsed_ns);
  const std::span<const std::uintptr_t> stack(sample.frames.data(), sample.frame_count);
  if (sampled) {
    const std::string running = describe_sampled(sample);
    if (!running.empty()) {
      message.append(" ").append(running);
    }
  } else {
    message += " (its stack could not be sampled: the signal is blocked or none is free)";
  }
  report_warning(WarningKind::kStall, std::move(message),
                 FindingContext{.stack = stack,
                                .site = sampled ? stall_site(stack) : 1,
                                .task = sample.task_id,
                                .recorder = recorder_});
}

}  // namespace loopscope::detail
