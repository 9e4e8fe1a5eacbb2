// How late a stall is reported: debug mode's goal is "within the threshold + 20 ms", with
// the blocking frame. Each round runs a debug loop whose only step blocks in usleep() well
// past Options::stall_duration; the time from the step's start to the moment the finding
// (stack sampled, symbolized, printed) reaches the observer, minus the threshold, is the
// round's latency. The first round also pays for loading the debug information.
//
//   ./build/release/bench/runtime/stall_latency [threshold_ms] [rounds] [usleep|poll]

#include <loopscope/loopscope.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <poll.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace ls = loopscope;

std::atomic<Clock::rep> g_reported_at{0};
std::atomic<bool> g_blocking_frame{false};
// Block in poll() rather than usleep(), so that no blocking_call finding (symbolized on the
// loop thread before the step blocks) comes first.
bool g_quiet_block = false;

ls::Task<Clock::time_point> block_past_the_threshold(std::chrono::milliseconds threshold) {
  const Clock::time_point start = Clock::now();
  if (g_quiet_block) {
    // poll() is no call blocking_call reports; the stack sample interrupts it (EINTR).
    while (Clock::now() - start < threshold + std::chrono::milliseconds(200)) {
      poll(nullptr, 0, 10);
    }
  } else {
    usleep(static_cast<useconds_t>((threshold.count() + 200) * 1000));
  }
  co_return start;
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Runs the rounds; prints the figures and returns 0, or 1 if a round saw no stall.
int measure(std::chrono::milliseconds threshold, int rounds) {
  ls::set_warning_observer([](const ls::Warning& w) {
    if (w.kind != ls::WarningKind::kStall) {
      return;
    }
    g_reported_at.store(Clock::now().time_since_epoch().count());
    for (const ls::StackFrame& frame : w.frames) {
      if (frame.function.find("block_past_the_threshold") != std::string::npos) {
        g_blocking_frame.store(true);
      }
    }
  });
  std::vector<double> late;
  for (int round = 0; round < rounds; ++round) {
    ls::detail::reset_reported_sites();
    g_reported_at.store(0);
    g_blocking_frame.store(false);
    ls::Options options;
    options.debug = true;
    options.stall_duration = threshold;
    options.slow_callback_duration = std::chrono::hours(1);
    const Clock::time_point start = ls::run(block_past_the_threshold(threshold), options);
    if (g_reported_at.load() == 0 || !g_blocking_frame.load()) {
      std::fprintf(stderr, "round %d: no stall reported with the blocking frame\n", round);
      return 1;
    }
    const Clock::time_point reported{Clock::duration(g_reported_at.load())};
    late.push_back(ms(reported - start) - static_cast<double>(threshold.count()));
  }
  const double first = late.front();
  std::vector<double> warm(late.begin() + 1, late.end());
  std::sort(warm.begin(), warm.end());
  std::printf("stall reported after threshold %lld ms + first round %.1f ms",
              static_cast<long long>(threshold.count()), first);
  if (!warm.empty()) {
    std::printf(", next %zu rounds: median %.1f ms, max %.1f ms", warm.size(),
                warm[warm.size() / 2], warm.back());
  }
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::chrono::milliseconds threshold(argc > 1 ? std::atoi(argv[1]) : 100);
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  g_quiet_block = argc > 3 && std::string(argv[3]) == "poll";
  if (threshold.count() <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: stall_latency [threshold_ms > 0] [rounds > 0] [usleep|poll]\n");
    return 2;
  }
  try {
    return measure(threshold, rounds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stall_latency: %s\n", e.what());
    return 1;
  }
}
