// Findings reported from a thread of their own, for the checks that fire on the loop thread
// in the middle of work the loop should not stop for.
//
// Reporting a finding symbolizes its stack, and the first symbolization of an address reads
// debug information: milliseconds, and a few hundred of them while the program's debug
// information is first loaded. The unbounded_fanout finding fires inside the very burst of
// spawns it is about (W1 spawns 100,000 tasks from one line), and a blocking_call finding is
// made just before the call blocks the loop, with a stall finding possibly due within the
// stall threshold: both are handed to this loop's reporting thread, and the loop carries on.
// The thread reports them in the order they were posted. Its time is not reporting time
// (detail::reporting_ns()): no step waits for it, and one that waits for the report lock
// meanwhile counts its own wait. The thread is joined when the loop's DebugState goes,
// before its trace is closed: every deferred finding is printed and recorded by the time
// run() returns.
#pragma once

#include <loopscope/detail/report.hpp>
#include <loopscope/probes/fork.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <utility>

namespace loopscope::detail {

class DeferredReports {
 public:
  DeferredReports() = default;
  DeferredReports(const DeferredReports&) = delete;
  DeferredReports& operator=(const DeferredReports&) = delete;
  DeferredReports(DeferredReports&&) = delete;
  DeferredReports& operator=(DeferredReports&&) = delete;
  ~DeferredReports() {
    if (fork_.in_child()) {
      probes::abandon(thread_);  // the parent's thread; its lock may be held (fork.hpp)
      return;
    }
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  // Queues `report` for the reporting thread (started on first use); runs it on this thread
  // if no thread can be started, or in a forked child, where the thread does not exist.
  void post(std::function<void()> report) noexcept {
    if (!fork_.in_child()) {
      bool queued = false;
      try {
        {
          const std::lock_guard lock(mutex_);
          queue_.push_back(std::move(report));
          queued = true;
          if (!thread_.joinable()) {
            thread_ = std::thread([this] { work(); });
            pthread_setname_np(thread_.native_handle(), "loopscope-report");
          }
        }
        ready_.notify_one();
        return;
      } catch (...) {  // NOLINT(bugprone-empty-catch): no thread: reported right here
      }
      if (queued) {  // the thread could not start, so nothing else is queued
        const std::lock_guard lock(mutex_);
        report = std::move(queue_.back());
        queue_.pop_back();
      }
    }
    run(report);
  }

 private:
  static void run(const std::function<void()>& report) noexcept {
    try {
      if (report) {
        report();
      }
    } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
    }
  }

  void work() {
    set_reporting_uncounted();
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopped, and everything posted is reported
      }
      const std::function<void()> report = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      run(report);
      lock.lock();
    }
  }

  probes::ForkGuard fork_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stop_ = false;                        // guarded by mutex_
  std::thread thread_;                       // started by the first post()
};

}  // namespace loopscope::detail
