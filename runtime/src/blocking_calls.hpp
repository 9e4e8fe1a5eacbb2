// Debug mode's blocking_call check: the libc functions that block a thread (sleep, usleep,
// nanosleep, clock_nanosleep, getaddrinfo, and connect, read, write, recv, send on a
// blocking descriptor) are wrapped by definitions of the same name in the runtime
// (blocking_calls.cpp), which call the real ones found with dlsym(RTLD_NEXT). On a thread
// where a debug-mode loop lives, a call is reported with its stack; everywhere else the
// wrapper costs one thread-local load and an indirect call.
#pragma once

#include <cstdint>

namespace loopscope::detail {

// True on a thread while a debug-mode loop lives on it.
extern constinit thread_local bool t_blocking_call_checks;
// Stack samples the stall watchdog took of this thread (bumped by its signal handler): a
// wrapped sleep that returns EINTR because of one sleeps on for the time left.
extern constinit thread_local std::uint32_t t_stall_samples;

// Turns the check on for the calling thread while it exists (DebugState holds one).
class BlockingCallChecks {
 public:
  BlockingCallChecks() noexcept;
  BlockingCallChecks(const BlockingCallChecks&) = delete;
  BlockingCallChecks& operator=(const BlockingCallChecks&) = delete;
  BlockingCallChecks(BlockingCallChecks&&) = delete;
  BlockingCallChecks& operator=(BlockingCallChecks&&) = delete;
  ~BlockingCallChecks();

 private:
  bool previous_;
};

}  // namespace loopscope::detail
