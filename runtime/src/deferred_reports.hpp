// Findings reported from a thread of their own, for the checks that fire on the loop thread
// in the middle of work the loop should not stop for.
//
// Reporting a finding symbolizes its stack, and the first symbolization in a process loads
// the program's debug information: a few hundred milliseconds. The unbounded_fanout finding
// fires inside the very burst of spawns it is about (W1 spawns 100,000 tasks from one line),
// so it is reported from another thread and the loop carries on. The threads are joined
// when the loop's DebugState goes, before its trace is closed: every deferred finding is
// printed and recorded by the time run() returns.
#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace loopscope::detail {

class DeferredReports {
 public:
  DeferredReports() = default;
  DeferredReports(const DeferredReports&) = delete;
  DeferredReports& operator=(const DeferredReports&) = delete;
  DeferredReports(DeferredReports&&) = delete;
  DeferredReports& operator=(DeferredReports&&) = delete;
  ~DeferredReports() {
    for (std::thread& thread : threads_) {
      thread.join();
    }
  }

  // Runs `report` on a new thread; on this one if no thread can be started.
  void post(std::function<void()> report) noexcept {
    try {
      threads_.emplace_back(report);
    } catch (...) {
      try {
        report();
      } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
      }
    }
  }

 private:
  std::vector<std::thread> threads_;
};

}  // namespace loopscope::detail
