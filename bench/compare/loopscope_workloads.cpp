// loopscope implementations of the anchor workloads W1-W6 (see ../../../shared/WORKLOADS.md
// and README.md here): the same constants, timed region and check values as the asyncio
// and Asio programs beside it, so that run_compare.py can put them side by side.
//
// Usage: loopscope_workloads <w1|w2|w5>
// Prints one JSON line; exits non-zero if the check value is wrong.

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

namespace ls = loopscope;

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double elapsed_s = 0.0;
  std::uint64_t ops = 0;
  const char* unit = "";
  std::uint64_t check = 0;
  std::uint64_t expected = 0;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- W1 spawn_join: 100,000 tasks that return their index; await all. ----

ls::Task<std::uint64_t> w1_child(std::uint64_t i) {
  co_return i;
}

ls::Task<Result> w1() {
  constexpr std::uint64_t kN = 100'000;
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kN);
  for (std::uint64_t i = 0; i < kN; ++i) {
    tasks.push_back(ls::spawn(w1_child(i)));
  }
  const std::vector<std::uint64_t> results = co_await ls::gather(std::move(tasks));
  std::uint64_t sum = 0;
  for (std::uint64_t r : results) {
    sum += r;
  }
  co_return Result{seconds_since(t0), kN, "tasks/s", sum, kN * (kN - 1) / 2};
}

// ---- W2 yield_round_robin: 100 tasks x 10,000 yields. ----

ls::Task<std::uint64_t> w2_yielder(std::uint64_t k) {
  std::uint64_t count = 0;
  for (std::uint64_t i = 0; i < k; ++i) {
    co_await ls::sleep(std::chrono::seconds(0));
    ++count;
  }
  co_return count;
}

ls::Task<Result> w2() {
  constexpr std::uint64_t kT = 100;
  constexpr std::uint64_t kK = 10'000;
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kT);
  for (std::uint64_t t = 0; t < kT; ++t) {
    tasks.push_back(ls::spawn(w2_yielder(kK)));
  }
  const std::vector<std::uint64_t> counts = co_await ls::gather(std::move(tasks));
  std::uint64_t total = 0;
  for (std::uint64_t c : counts) {
    total += c;
  }
  co_return Result{seconds_since(t0), kT * kK, "switches/s", total, kT * kK};
}

// ---- W5 timers: 100,000 tasks each sleeping a seeded-random 0-10 ms. ----

std::uint64_t splitmix64_next(std::uint64_t& x) {
  x += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

ls::Task<std::uint64_t> w5_sleeper(std::uint64_t delay_us) {
  co_await ls::sleep(std::chrono::microseconds(delay_us));
  co_return delay_us;
}

ls::Task<Result> w5() {
  constexpr std::uint64_t kN = 100'000;
  std::vector<std::uint64_t> delays(kN);
  std::uint64_t state = 42;
  for (auto& d : delays) {
    d = splitmix64_next(state) % 10'001;
  }
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kN);
  for (std::uint64_t d : delays) {
    tasks.push_back(ls::spawn(w5_sleeper(d)));
  }
  const std::vector<std::uint64_t> slept = co_await ls::gather(std::move(tasks));
  std::uint64_t sum = 0;
  for (std::uint64_t s : slept) {
    sum += s;
  }
  co_return Result{seconds_since(t0), kN, "timers/s", sum, 499'348'982};
}

int usage() {
  std::fprintf(stderr, "usage: loopscope_workloads <w1|w2|w5>\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    return usage();
  }
  const std::string_view name = argv[1];
  Result result;
  try {
    if (name == "w1") {
      result = ls::run(w1());
    } else if (name == "w2") {
      result = ls::run(w2());
    } else if (name == "w5") {
      result = ls::run(w5());
    } else {
      return usage();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: failed: %s\n", argv[1], e.what());
    return 1;
  }
  const bool ok = result.check == result.expected;
  std::printf(
      "{\"system\": \"loopscope\", \"workload\": \"%s\", \"elapsed_s\": %.9f, \"ops\": %llu, "
      "\"rate\": %.3f, \"unit\": \"%s\", \"check\": %llu, \"ok\": %s}\n",
      argv[1], result.elapsed_s, static_cast<unsigned long long>(result.ops),
      static_cast<double>(result.ops) / result.elapsed_s, result.unit,
      static_cast<unsigned long long>(result.check), ok ? "true" : "false");
  if (!ok) {
    std::fprintf(stderr, "%s: check failed: got %llu, expected %llu\n", argv[1],
                 static_cast<unsigned long long>(result.check),
                 static_cast<unsigned long long>(result.expected));
    return 1;
  }
  return 0;
}
