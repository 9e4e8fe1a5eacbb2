// The blocking_call check (blocking_calls.hpp): wrappers of libc's blocking functions.
//
// Each wrapper has libc's name and signature, so that calls from the program and from the
// shared libraries it uses (libstdc++'s this_thread::sleep_for calls nanosleep) reach it
// first; it calls the real function, found once with dlsym(RTLD_NEXT). Off a debug-mode
// loop's thread a wrapper costs one thread-local load. On one, it reports:
//   - sleep, usleep, nanosleep, clock_nanosleep, getaddrinfo: always;
//   - connect, recv, send: on a descriptor without O_NONBLOCK (unless MSG_DONTWAIT);
//   - read, write: on a blocking socket or pipe, or a read from a terminal. Regular files
//     are left out (O_NONBLOCK does not apply to them), and so are writes to stdout and
//     stderr (logging).
// The runtime's own I/O uses non-blocking descriptors and is never reported; getaddrinfo
// runs on to_thread workers, where the check is off. The loop thread only captures the
// stack (a fraction of a microsecond) and hands the finding to a thread of its DebugState,
// which symbolizes and prints it while the call runs: debug mode adds nothing to the time
// the loop is blocked, and every finding is out by the time run() returns. With
// LOOPSCOPE_DEBUG_ABORT=blocking_call the finding is reported, and the program aborted, at
// the call itself.
//
// The stall watchdog's signal interrupts a sleep of the loop thread (the kernel never
// restarts a sleep); the wrappers then sleep on for the time left, so that sampling a
// stack never shortens the program's own sleep.

// The fortified inline read() of <unistd.h> would clash with the definition below.
#undef _FORTIFY_SOURCE

#include "blocking_calls.hpp"

#include "debug_state.hpp"
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/probes/recorder.hpp>
#include <loopscope/probes/stack.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace loopscope::detail {

constinit thread_local bool t_blocking_call_checks = false;
constinit thread_local std::uint32_t t_stall_samples = 0;

BlockingCallChecks::BlockingCallChecks() noexcept
    : previous_(std::exchange(t_blocking_call_checks, true)) {
}

BlockingCallChecks::~BlockingCallChecks() {
  t_blocking_call_checks = previous_;
}

namespace {

// The function a wrapper hides: the next definition of its name after this one.
template <class Fn>
class NextSymbol {
 public:
  explicit constexpr NextSymbol(const char* name) noexcept : name_(name) {}

  Fn get() noexcept {
    void* fn = fn_.load(std::memory_order_relaxed);
    if (fn == nullptr) [[unlikely]] {
      fn = dlsym(RTLD_NEXT, name_);
      if (fn == nullptr) {
        std::fprintf(stderr, "loopscope: fatal: libc's %s() not found\n", name_);
        std::abort();
      }
      fn_.store(fn, std::memory_order_relaxed);
    }
    return reinterpret_cast<Fn>(fn);
  }

 private:
  const char* name_;
  std::atomic<void*> fn_{nullptr};
};

constinit NextSymbol<decltype(&::sleep)> real_sleep{"sleep"};
constinit NextSymbol<decltype(&::usleep)> real_usleep{"usleep"};
constinit NextSymbol<decltype(&::nanosleep)> real_nanosleep{"nanosleep"};
constinit NextSymbol<decltype(&::clock_nanosleep)> real_clock_nanosleep{"clock_nanosleep"};
constinit NextSymbol<decltype(&::getaddrinfo)> real_getaddrinfo{"getaddrinfo"};
constinit NextSymbol<decltype(&::connect)> real_connect{"connect"};
// Spelled out: decltype would carry <unistd.h>'s attributes into a template argument.
using ReadFn = ssize_t (*)(int, void*, size_t);
using WriteFn = ssize_t (*)(int, const void*, size_t);
constinit NextSymbol<ReadFn> real_read{"read"};
constinit NextSymbol<WriteFn> real_write{"write"};
constinit NextSymbol<decltype(&::recv)> real_recv{"recv"};
constinit NextSymbol<decltype(&::send)> real_send{"send"};

constexpr const char* kSleepAdvice = "await loopscope::sleep() instead";
constexpr const char* kResolveAdvice =
    "use open_connection(), which resolves on a worker thread, or to_thread()";
constexpr const char* kIoAdvice =
    "use a non-blocking socket (TcpStream, open_connection) or move the call to to_thread()";

// Turns the check off on this thread while the finding is reported (the symbolizer reads
// files) or while a reported call runs (getaddrinfo's NSS modules call read and connect).
class ChecksOff {
 public:
  ChecksOff() noexcept : previous_(std::exchange(t_blocking_call_checks, false)) {}
  ChecksOff(const ChecksOff&) = delete;
  ChecksOff& operator=(const ChecksOff&) = delete;
  ChecksOff(ChecksOff&&) = delete;
  ChecksOff& operator=(ChecksOff&&) = delete;
  ~ChecksOff() { t_blocking_call_checks = previous_; }

 private:
  bool previous_;
};

// " in task 'Task-3'", " in callback 'main()::{lambda()#1}'", or "" between steps.
std::string running_now(const PromiseBase* task) {
  if (task != nullptr) {
    return " in task '" + task->display_name() + "'";
  }
  const DebugState* debug = t_current_loop != nullptr ? t_current_loop->debug_state() : nullptr;
  if (debug == nullptr) {
    return "";
  }
  const StepActivity& step = debug->steps.activity();
  const ReadyNode* node = step.node.load(std::memory_order_relaxed);
  if (step.sequence.load(std::memory_order_relaxed) % 2 == 0 || node == nullptr ||
      !node->is_callback) {
    return "";
  }
  return " in callback '" + demangled(static_cast<const CallbackNode*>(node)->type_name()) + "'";
}

// Called directly by a wrapper: the stack starts at the wrapper's caller.
[[gnu::noinline]] void note_blocking_call(const char* call, const char* advice) noexcept {
  const ChecksOff off;
  try {
    std::array<std::uintptr_t, 48> stack{};
    const std::size_t depth = probes::capture_stack(stack, 1);
    std::string message = std::string("blocking call ") + call + "() on the event loop thread";
    const PromiseBase* task = t_current_loop != nullptr ? t_current_loop->current_task() : nullptr;
    message.append(running_now(task)).append("; ").append(advice);
    // Once per call and place: the innermost frames tell the place.
    auto site = reinterpret_cast<std::uintptr_t>(call);
    for (std::size_t i = 0; i < std::min<std::size_t>(depth, 8); ++i) {
      site = site * 31 + stack.at(i);
    }
    const std::uint64_t task_id = task != nullptr ? task->id_ : 0;
    DebugState* debug = t_current_loop != nullptr ? t_current_loop->debug_state() : nullptr;
    if (debug == nullptr || aborts_on(WarningKind::kBlockingCall)) {
      // An abort stops the program at the call itself.
      report_warning(WarningKind::kBlockingCall, std::move(message),
                     FindingContext{.stack = std::span<const std::uintptr_t>(stack.data(), depth),
                                    .site = site,
                                    .task = task_id});
      return;
    }
    // Symbolized and printed on a thread of its own: the call is about to block the loop,
    // and reading debug information first would block it longer (and delay the stall
    // finding that may follow). Once per site and loop from here; once per site in all by
    // report_warning.
    if (!debug->blocking_sites_posted.insert(site).second) {
      return;
    }
    probes::Recorder* const recorder = debug->loop.recorder();
    const std::uint64_t ticks = recorder != nullptr ? recorder->now() : 0;  // at the call
    debug->deferred_reports.post([stack = std::vector<std::uintptr_t>(stack.begin(),
                                                                      stack.begin() + depth),
                                  message = std::move(message), site, task_id, recorder,
                                  ticks]() mutable {
      report_warning(
          WarningKind::kBlockingCall, std::move(message),
          FindingContext{
              .stack = stack, .site = site, .task = task_id, .recorder = recorder, .ticks = ticks});
    });
  } catch (...) {  // NOLINT(bugprone-empty-catch): a finding must never break the program
  }
}

bool blocking_descriptor(int fd) noexcept {
  const int flags = fcntl(fd, F_GETFL);
  return flags != -1 && (flags & O_NONBLOCK) == 0;
}

// A blocking descriptor that a read or write may wait on for as long as a peer likes.
bool io_may_block(int fd, bool reading) noexcept {
  if (!reading && (fd == STDOUT_FILENO || fd == STDERR_FILENO)) {
    return false;
  }
  if (!blocking_descriptor(fd)) {
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return false;
  }
  return S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) ||
         (reading && S_ISCHR(st.st_mode) && isatty(fd) == 1);
}

timespec monotonic_after(std::int64_t ns) noexcept {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  const std::int64_t total = t.tv_nsec + ns % 1'000'000'000;
  t.tv_sec += static_cast<time_t>(ns / 1'000'000'000 + total / 1'000'000'000);
  t.tv_nsec = static_cast<long>(total % 1'000'000'000);
  return t;
}

// After a stack sample interrupted a sleep: the rest of it (0, or an errno value).
int sleep_until(const timespec& deadline) noexcept {
  return real_clock_nanosleep.get()(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr);
}

}  // namespace
}  // namespace loopscope::detail

// ---- the wrappers: libc's names, in the global namespace ----

using loopscope::detail::t_blocking_call_checks;
using loopscope::detail::t_stall_samples;
namespace ld = loopscope::detail;

extern "C" unsigned int sleep(unsigned int seconds) {
  if (!t_blocking_call_checks) [[likely]] {
    return ld::real_sleep.get()(seconds);
  }
  ld::note_blocking_call("sleep", ld::kSleepAdvice);
  const timespec deadline = ld::monotonic_after(std::int64_t{seconds} * 1'000'000'000);
  const std::uint32_t samples = t_stall_samples;
  const unsigned int left = ld::real_sleep.get()(seconds);
  if (left != 0 && t_stall_samples != samples) {
    return ld::sleep_until(deadline) == 0 ? 0 : left;
  }
  return left;
}

extern "C" int usleep(useconds_t usec) {
  if (!t_blocking_call_checks) [[likely]] {
    return ld::real_usleep.get()(usec);
  }
  ld::note_blocking_call("usleep", ld::kSleepAdvice);
  const timespec deadline = ld::monotonic_after(std::int64_t{usec} * 1'000);
  const std::uint32_t samples = t_stall_samples;
  int rc = ld::real_usleep.get()(usec);
  if (rc != 0 && errno == EINTR && t_stall_samples != samples) {
    if (const int err = ld::sleep_until(deadline); err != 0) {
      errno = err;
      return -1;
    }
    rc = 0;
  }
  return rc;
}

extern "C" int nanosleep(const timespec* duration, timespec* remaining) {
  if (!t_blocking_call_checks || duration == nullptr) [[likely]] {
    return ld::real_nanosleep.get()(duration, remaining);
  }
  ld::note_blocking_call("nanosleep", ld::kSleepAdvice);
  const std::uint32_t samples = t_stall_samples;
  timespec left{};
  const int rc = ld::real_nanosleep.get()(duration, &left);
  if (rc != 0 && errno == EINTR && t_stall_samples != samples) {
    return ld::real_nanosleep.get()(&left, remaining);
  }
  if (rc != 0 && remaining != nullptr) {
    *remaining = left;
  }
  return rc;
}

extern "C" int clock_nanosleep(clockid_t clock, int flags, const timespec* time,
                               timespec* remaining) {
  if (!t_blocking_call_checks || time == nullptr) [[likely]] {
    return ld::real_clock_nanosleep.get()(clock, flags, time, remaining);
  }
  ld::note_blocking_call("clock_nanosleep", ld::kSleepAdvice);
  const bool absolute = (flags & TIMER_ABSTIME) != 0;
  const std::uint32_t samples = t_stall_samples;
  timespec left{};
  const int err = ld::real_clock_nanosleep.get()(clock, flags, time, &left);
  if (err == EINTR && t_stall_samples != samples) {
    return ld::real_clock_nanosleep.get()(clock, flags, absolute ? time : &left, remaining);
  }
  if (err == EINTR && !absolute && remaining != nullptr) {
    *remaining = left;
  }
  return err;
}

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** result) {
  if (t_blocking_call_checks) [[unlikely]] {
    ld::note_blocking_call("getaddrinfo", ld::kResolveAdvice);
    const ld::ChecksOff off;  // what it does inside is part of this one call
    return ld::real_getaddrinfo.get()(node, service, hints, result);
  }
  return ld::real_getaddrinfo.get()(node, service, hints, result);
}

extern "C" int connect(int fd, const sockaddr* address, socklen_t length) {
  if (t_blocking_call_checks && ld::blocking_descriptor(fd)) [[unlikely]] {
    ld::note_blocking_call("connect", ld::kIoAdvice);
  }
  return ld::real_connect.get()(fd, address, length);
}

extern "C" ssize_t read(int fd, void* buffer, size_t size) {
  if (t_blocking_call_checks && ld::io_may_block(fd, true)) [[unlikely]] {
    ld::note_blocking_call("read", ld::kIoAdvice);
  }
  return ld::real_read.get()(fd, buffer, size);
}

extern "C" ssize_t write(int fd, const void* buffer, size_t size) {
  if (t_blocking_call_checks && ld::io_may_block(fd, false)) [[unlikely]] {
    ld::note_blocking_call("write", ld::kIoAdvice);
  }
  return ld::real_write.get()(fd, buffer, size);
}

extern "C" ssize_t recv(int fd, void* buffer, size_t size, int flags) {
  if (t_blocking_call_checks && (flags & MSG_DONTWAIT) == 0 && ld::blocking_descriptor(fd))
      [[unlikely]] {
    ld::note_blocking_call("recv", ld::kIoAdvice);
  }
  return ld::real_recv.get()(fd, buffer, size, flags);
}

extern "C" ssize_t send(int fd, const void* buffer, size_t size, int flags) {
  if (t_blocking_call_checks && (flags & MSG_DONTWAIT) == 0 && ld::blocking_descriptor(fd))
      [[unlikely]] {
    ld::note_blocking_call("send", ld::kIoAdvice);
  }
  return ld::real_send.get()(fd, buffer, size, flags);
}
