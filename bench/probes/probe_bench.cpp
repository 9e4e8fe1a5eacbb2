// The cost of one probe, against its floor: one rdtsc plus a 16-byte store into a
// thread-local ring, measured in the same run. Recording does not publish: the loop does so
// at each clock read, and the benchmarks when they drain.

#include <loopscope/probes/clock.hpp>
#include <loopscope/probes/event.hpp>
#include <loopscope/probes/recorder.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>

namespace probes = loopscope::probes;

namespace {

constexpr std::size_t kSlots = std::size_t{1} << 16;  // fits in L2, like a drained ring

// The floor: read the clock, store 16 bytes into a thread-local ring.
void BM_Probe_Floor(benchmark::State& state) {
  static thread_local std::array<probes::Event, kSlots> ring{};
  std::uint64_t head = 0;
  const probes::TickSource source = probes::tick_source();
  for (auto _ : state) {
    ring[head & (kSlots - 1)] =
        probes::Event{probes::read_ticks(source), 7, 0, probes::EventKind::kTaskResumed, 0};
    ++head;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Probe_Floor);

// An enabled probe that reads the clock (a step boundary).
void BM_Probe_Enabled(benchmark::State& state) {
  probes::Recorder recorder(0, "bench", 2 * kSlots);  // the floor's bytes
  auto& ring = recorder.ring();
  std::uint64_t n = 0;
  for (auto _ : state) {
    recorder.record(probes::EventKind::kTaskResumed, recorder.tick(), 7);
    if (++n % (kSlots / 2) == 0) {
      state.PauseTiming();
      recorder.publish();
      ring.consume(ring.readable().size());  // what the collector does concurrently
      state.ResumeTiming();
    }
    benchmark::ClobberMemory();
  }
  state.counters["dropped"] = static_cast<double>(ring.dropped());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Probe_Enabled);

// An enabled probe inside a step: it reuses the step's timestamp (a spawn, a queue put).
void BM_Probe_SharedTimestamp(benchmark::State& state) {
  probes::Recorder recorder(0, "bench", 2 * kSlots);  // the floor's bytes
  auto& ring = recorder.ring();
  recorder.tick();
  std::uint64_t n = 0;
  for (auto _ : state) {
    recorder.record(probes::EventKind::kTaskResumed, recorder.step_ticks(), 7);
    if (++n % (kSlots / 2) == 0) {
      state.PauseTiming();
      recorder.publish();
      ring.consume(ring.readable().size());
      state.ResumeTiming();
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Probe_SharedTimestamp);

// A step inside a window (what most steps cost the traced loop): no clock read, one 8-byte
// word that stands for the step's task_resumed and task_suspended (probes/event.hpp, kStep).
void BM_Probe_UntimedStep(benchmark::State& state) {
  probes::Recorder recorder(0, "bench", 2 * kSlots);  // the floor's bytes
  auto& ring = recorder.ring();
  std::uint64_t n = 0;
  for (auto _ : state) {
    recorder.record_untimed(probes::EventKind::kTaskSuspended, 7, 1, probes::kStep);
    if (++n % (kSlots / 2) == 0) {
      state.PauseTiming();
      recorder.publish();
      ring.consume(ring.readable().size());
      state.ResumeTiming();
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Probe_UntimedStep);

// Probes compiled in but no trace requested: a branch on a null recorder pointer.
void BM_Probe_RuntimeDisabled(benchmark::State& state) {
  probes::Recorder* volatile recorder_slot = nullptr;
  for (auto _ : state) {
    probes::Recorder* recorder = recorder_slot;
    if (recorder != nullptr) [[unlikely]] {
      recorder->record(probes::EventKind::kTaskResumed, recorder->tick(), 7);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Probe_RuntimeDisabled);

}  // namespace
