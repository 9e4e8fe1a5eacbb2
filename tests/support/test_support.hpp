// Helpers shared by the runtime tests: a loop on a manual clock, a recorder of findings and
// a lifetime counter.
#pragma once

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace loopscope::testing {

using namespace std::chrono_literals;

// Runs `main` on a fresh loop whose ManualClock starts at zero and jumps to each timer
// deadline when the loop is idle, so timer tests are instant and exact.
template <class T>
T run_manual(Task<T> main, ManualClock& clock) {
  Options options;
  options.clock = &clock;
  return run(std::move(main), options);
}
template <class T>
T run_manual(Task<T> main) {
  ManualClock clock;
  return run_manual(std::move(main), clock);
}

// Milliseconds of virtual time since the manual clock started.
inline long long ms_since_start(const ManualClock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch())
      .count();
}
inline long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             current_loop().time().time_since_epoch())
      .count();
}

// Records the findings reported while it exists: a test that provokes findings on purpose
// holds one. Without arguments it expects every kind; given kinds, it records those and
// passes the others on to the previous observer, which in the test suites is the guard
// that fails a test on an unexpected finding (finding_guard.cpp).
class WarningRecorder {
 public:
  WarningRecorder() : WarningRecorder(kAllKinds) {}
  WarningRecorder(std::initializer_list<WarningKind> expected)
      : WarningRecorder(mask_of(expected)) {}
  WarningRecorder(const WarningRecorder&) = delete;
  WarningRecorder& operator=(const WarningRecorder&) = delete;
  WarningRecorder(WarningRecorder&&) = delete;
  WarningRecorder& operator=(WarningRecorder&&) = delete;
  ~WarningRecorder() { set_warning_observer(std::move(previous_)); }

  [[nodiscard]] std::vector<Warning> all() const {
    std::lock_guard lock(mutex_);
    return warnings_;
  }
  [[nodiscard]] int count(WarningKind kind) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& w : warnings_) {
      n += w.kind == kind ? 1 : 0;
    }
    return n;
  }

 private:
  static constexpr std::uint32_t kAllKinds = ~std::uint32_t{0};
  static constexpr std::uint32_t bit(WarningKind kind) {
    return std::uint32_t{1} << static_cast<unsigned>(kind);
  }
  static constexpr std::uint32_t mask_of(std::initializer_list<WarningKind> kinds) {
    std::uint32_t mask = 0;
    for (const WarningKind kind : kinds) {
      mask |= bit(kind);
    }
    return mask;
  }

  explicit WarningRecorder(std::uint32_t expected_mask) : expected_(expected_mask) {
    detail::reset_reported_sites();  // each test sees its findings, even in one process
    previous_ = set_warning_observer([this](const Warning& w) {
      if ((expected_ & bit(w.kind)) == 0) {
        if (previous_) {
          previous_(w);
        }
        return;
      }
      std::lock_guard lock(mutex_);
      warnings_.push_back(w);
    });
  }

  const std::uint32_t expected_;
  mutable std::mutex mutex_;
  std::vector<Warning> warnings_;
  WarningObserver previous_;
};

// Counts live instances, to check that frames and their locals are destroyed.
struct LifetimeCounter {
  static inline int alive = 0;
  LifetimeCounter() { ++alive; }
  LifetimeCounter(const LifetimeCounter&) { ++alive; }
  LifetimeCounter(LifetimeCounter&&) noexcept { ++alive; }
  LifetimeCounter& operator=(const LifetimeCounter&) = default;
  LifetimeCounter& operator=(LifetimeCounter&&) = default;
  ~LifetimeCounter() { --alive; }
};

}  // namespace loopscope::testing
