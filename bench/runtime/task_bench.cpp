// Task costs: spawn to completion, inline await, yield, and the W1/W2 shapes.

#include <loopscope/loopscope.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace ls = loopscope;

namespace {

ls::Task<std::uint64_t> returns(std::uint64_t i) {
  co_return i;
}

// Spawn one task that returns at once and await it: spawn, one loop iteration, completion,
// wake-up of the awaiter, frame release. The figure behind "well under 200 ns".
ls::Task<std::uint64_t> spawn_to_completion(benchmark::State& state) {
  std::uint64_t sum = 0;
  std::uint64_t i = 0;
  for (auto _ : state) {
    sum += co_await ls::spawn(returns(i++));
  }
  co_return sum;
}

void BM_Task_SpawnToCompletion(benchmark::State& state) {
  const std::uint64_t sum = ls::run(spawn_to_completion(state));
  const std::uint64_t n = state.iterations();
  if (sum != n * (n - 1) / 2) {
    state.SkipWithError("wrong sum");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_Task_SpawnToCompletion);

ls::Task<std::uint64_t> await_inline(benchmark::State& state) {
  std::uint64_t sum = 0;
  std::uint64_t i = 0;
  for (auto _ : state) {
    sum += co_await returns(i++);
  }
  co_return sum;
}

void BM_Task_AwaitInline(benchmark::State& state) {
  const std::uint64_t sum = ls::run(await_inline(state));
  const std::uint64_t n = state.iterations();
  if (sum != n * (n - 1) / 2) {
    state.SkipWithError("wrong sum");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_Task_AwaitInline);

ls::Task<std::uint64_t> yield_alone(benchmark::State& state) {
  std::uint64_t n = 0;
  for (auto _ : state) {
    co_await ls::sleep(std::chrono::seconds(0));
    ++n;
  }
  co_return n;
}

void BM_Task_Yield(benchmark::State& state) {
  const std::uint64_t n = ls::run(yield_alone(state));
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_Task_Yield);

// W1's shape: spawn N tasks that return their index, then gather them.
ls::Task<std::uint64_t> spawn_join(std::uint64_t n) {
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    tasks.push_back(ls::spawn(returns(i)));
  }
  std::uint64_t sum = 0;
  for (std::uint64_t r : co_await ls::gather(std::move(tasks))) {
    sum += r;
  }
  co_return sum;
}

void BM_Task_SpawnJoin(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    const std::uint64_t sum = ls::run(spawn_join(n));
    if (sum != n * (n - 1) / 2) {
      state.SkipWithError("wrong sum");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Task_SpawnJoin)->Arg(100'000)->Unit(benchmark::kMillisecond);

// W2's shape: T tasks x K yields, round robin.
ls::Task<std::uint64_t> yielder(std::uint64_t k) {
  std::uint64_t count = 0;
  for (std::uint64_t i = 0; i < k; ++i) {
    co_await ls::sleep(std::chrono::seconds(0));
    ++count;
  }
  co_return count;
}

ls::Task<std::uint64_t> round_robin(std::uint64_t t, std::uint64_t k) {
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  for (std::uint64_t i = 0; i < t; ++i) {
    tasks.push_back(ls::spawn(yielder(k)));
  }
  std::uint64_t total = 0;
  for (std::uint64_t c : co_await ls::gather(std::move(tasks))) {
    total += c;
  }
  co_return total;
}

void BM_Task_YieldRoundRobin(benchmark::State& state) {
  constexpr std::uint64_t kT = 100;
  constexpr std::uint64_t kK = 10'000;
  for (auto _ : state) {
    if (ls::run(round_robin(kT, kK)) != kT * kK) {
      state.SkipWithError("wrong count");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kT * kK));
}
BENCHMARK(BM_Task_YieldRoundRobin)->Unit(benchmark::kMillisecond);

}  // namespace
