// Loop costs: callbacks and timers (on a manual clock, so only the CPU work is measured).

#include <loopscope/loopscope.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace ls = loopscope;

namespace {

ls::Task<std::uint64_t> call_soon_batch(std::uint64_t n) {
  std::uint64_t ran = 0;
  auto& loop = ls::current_loop();
  for (std::uint64_t i = 0; i < n; ++i) {
    loop.call_soon([&ran] { ++ran; });
  }
  co_await ls::sleep(std::chrono::seconds(0));
  co_return ran;
}

void BM_Loop_CallSoon(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    if (ls::run(call_soon_batch(n)) != n) {
      state.SkipWithError("callbacks lost");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Loop_CallSoon)->Arg(10'000);

ls::Task<std::uint64_t> sleeper(std::uint64_t us) {
  co_await ls::sleep(std::chrono::microseconds(us));
  co_return us;
}

ls::Task<std::uint64_t> many_timers(std::vector<std::uint64_t> delays) {
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(delays.size());
  for (std::uint64_t d : delays) {
    tasks.push_back(ls::spawn(sleeper(d)));
  }
  std::uint64_t sum = 0;
  for (std::uint64_t s : co_await ls::gather(std::move(tasks))) {
    sum += s;
  }
  co_return sum;
}

// W5's shape on a manual clock: arming, ordering and firing N timers, without the wall-clock
// wait for the last deadline.
void BM_Timer_ManyRandomSleeps(benchmark::State& state) {
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> delays(static_cast<std::size_t>(state.range(0)));
  std::uint64_t expected = 0;
  for (auto& d : delays) {
    d = rng() % 10'001;
    expected += d;
  }
  for (auto _ : state) {
    ls::ManualClock clock;
    ls::Options options;
    options.clock = &clock;
    if (ls::run(many_timers(delays), options) != expected) {
      state.SkipWithError("wrong sum");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Timer_ManyRandomSleeps)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
