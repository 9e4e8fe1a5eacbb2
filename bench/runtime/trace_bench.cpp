// What tracing costs the loop: the W1-W4 shapes run inside one loop, with the trace on
// (arg 1) and off (arg 0), in the same process. The loop and its trace are set up before
// the timed iterations, so the figures are the recording cost alone. Between iterations the
// benchmark pauses for the collector to catch up: back to back, these shapes record events
// faster than any collector writes them, and a full ring would drop instead of recording.

#include <loopscope/loopscope.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace ls = loopscope;

namespace {

std::string trace_path() {
  return "/tmp/loopscope_trace_bench_" + std::to_string(getpid()) + ".lstrace";
}

// Runs `body` once per benchmark iteration inside one loop, traced or not.
template <class Body>
void run_shape(benchmark::State& state, std::int64_t items_per_iteration, Body body) {
  ls::Options options;
  if (state.range(0) != 0) {
    options.trace_path = trace_path();
  }
  auto main = [](benchmark::State* s, Body* b) -> ls::Task<bool> {
    for (auto _ : *s) {
      if (!co_await (*b)()) {
        co_return false;
      }
      s->PauseTiming();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s->ResumeTiming();
    }
    co_return true;
  };
  if (!ls::run(main(&state, &body), options)) {
    state.SkipWithError("wrong result");
  }
  std::remove(trace_path().c_str());
  state.SetItemsProcessed(state.iterations() * items_per_iteration);
}

ls::Task<std::uint64_t> returns(std::uint64_t i) {
  co_return i;
}

ls::Task<std::uint64_t> yielder(std::uint64_t k) {
  for (std::uint64_t i = 0; i < k; ++i) {
    co_await ls::sleep(std::chrono::seconds(0));
  }
  co_return k;
}

ls::Task<std::uint64_t> producer(ls::Queue<std::uint64_t>* queue, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    co_await queue->put(i);
  }
  co_return 0;
}

ls::Task<std::uint64_t> consumer(ls::Queue<std::uint64_t>* queue, std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += co_await queue->get();
  }
  co_return sum;
}

ls::Task<std::uint64_t> fanout_worker(ls::Semaphore* semaphore) {
  auto permit = co_await semaphore->acquire();
  co_await ls::sleep(std::chrono::seconds(0));
  co_return 1;
}

// W1: 100,000 tasks that return at once, gathered.
void BM_Trace_SpawnJoin(benchmark::State& state) {
  constexpr std::uint64_t kN = 100'000;
  run_shape(state, kN, []() -> ls::Task<bool> {
    std::vector<ls::TaskHandle<std::uint64_t>> tasks;
    tasks.reserve(kN);
    for (std::uint64_t i = 0; i < kN; ++i) {
      tasks.push_back(ls::spawn(returns(i)));
    }
    std::uint64_t sum = 0;
    for (std::uint64_t r : co_await ls::gather(std::move(tasks))) {
      sum += r;
    }
    co_return sum == kN*(kN - 1) / 2;
  });
}
BENCHMARK(BM_Trace_SpawnJoin)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);

// W2: 100 tasks x 10,000 yields.
void BM_Trace_YieldRoundRobin(benchmark::State& state) {
  constexpr std::uint64_t kT = 100;
  constexpr std::uint64_t kK = 10'000;
  run_shape(state, kT * kK, []() -> ls::Task<bool> {
    std::vector<ls::TaskHandle<std::uint64_t>> tasks;
    for (std::uint64_t i = 0; i < kT; ++i) {
      tasks.push_back(ls::spawn(yielder(kK)));
    }
    std::uint64_t total = 0;
    for (std::uint64_t c : co_await ls::gather(std::move(tasks))) {
      total += c;
    }
    co_return total == kT* kK;
  });
}
BENCHMARK(BM_Trace_YieldRoundRobin)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);

// W3: one producer, one consumer, Queue(10), 1,000,000 items.
void BM_Trace_QueuePingPong(benchmark::State& state) {
  constexpr std::uint64_t kN = 1'000'000;
  run_shape(state, kN, []() -> ls::Task<bool> {
    ls::Queue<std::uint64_t> queue(10);
    auto p = ls::spawn(producer(&queue, kN));
    auto c = ls::spawn(consumer(&queue, kN));
    auto [produced, sum] = co_await ls::gather(p, c);
    co_return produced == 0 && sum == kN*(kN - 1) / 2;
  });
}
BENCHMARK(BM_Trace_QueuePingPong)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);

// W4: 100,000 tasks through Semaphore(10), one yield each.
void BM_Trace_SemaphoreFanout(benchmark::State& state) {
  constexpr std::uint64_t kN = 100'000;
  run_shape(state, kN, []() -> ls::Task<bool> {
    ls::Semaphore semaphore(10);
    std::vector<ls::TaskHandle<std::uint64_t>> tasks;
    tasks.reserve(kN);
    for (std::uint64_t i = 0; i < kN; ++i) {
      tasks.push_back(ls::spawn(fanout_worker(&semaphore)));
    }
    std::uint64_t done = 0;
    for (std::uint64_t d : co_await ls::gather(std::move(tasks))) {
      done += d;
    }
    co_return done == kN;
  });
}
BENCHMARK(BM_Trace_SemaphoreFanout)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);

}  // namespace
