// A synthetic event stream shaped like a busy loop's, for the codec and reader benchmarks:
// poll windows, then a few task steps (resume, suspend on something), now and then a task
// created or finished and a lag sample; 10-500 ticks apart, task ids repeating or moving by
// up to 100.
#pragma once

#include <loopscope/probes/trace_format.hpp>

#include <random>
#include <vector>

namespace loopscope::bench {

class EventStream {
 public:
  explicit EventStream(std::uint64_t seed) : rng_(seed) {}

  // Appends n events to `out` (cleared first).
  void next(std::size_t n, std::vector<probes::format::Record>& out) {
    using probes::EventKind;
    out.clear();
    while (out.size() < n) {
      add(out, EventKind::kPollBegin, 0, 0);
      add(out, EventKind::kPollEnd, 0, static_cast<std::uint16_t>(rng_() % 4));
      for (std::uint64_t steps = 1 + rng_() % 6; steps > 0; --steps) {
        task_ = static_cast<std::uint32_t>(task_ + static_cast<int>(rng_() % 201) - 100);
        if (rng_() % 8 == 0) {
          add(out, EventKind::kTaskCreated, task_ + 1, 0, task_, 1 + rng_() % 40, 1 + rng_() % 40);
        }
        add(out, EventKind::kTaskResumed, task_, 0);
        if (rng_() % 10 == 0) {
          add(out, EventKind::kTaskFinished, task_, 1);
        } else {
          add(out, EventKind::kTaskSuspended, task_, static_cast<std::uint16_t>(rng_() % 14),
              rng_() % 2 == 0 ? task_ - rng_() % 50 : rng_() % 64);
        }
      }
      if (rng_() % 4 == 0) {
        add(out, EventKind::kLagSample, 0, 0, 1000 + rng_() % 100'000);
      }
    }
    out.resize(n);
  }

 private:
  void add(std::vector<probes::format::Record>& out, probes::EventKind kind, std::uint32_t task,
           std::uint16_t arg, std::uint64_t f0 = 0, std::uint64_t f1 = 0, std::uint64_t f2 = 0) {
    ticks_ += 10 + rng_() % 491;
    out.push_back(probes::format::Record{ticks_, kind, task, arg, {f0, f1, f2}});
  }

  std::mt19937_64 rng_;
  std::uint64_t ticks_ = 1'000'000'000;
  std::uint32_t task_ = 5000;
};

}  // namespace loopscope::bench
