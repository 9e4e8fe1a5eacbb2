// The collector's side of tracing, end to end: a loop thread's ring filled through a real
// Recorder, then the Collector's drain (raw events to records, code addresses and spawn sites
// interned), delta encoding, checksums and the write of the chunks to a file. The timed part
// is what the collector thread does per drain, run here on the benchmark thread through
// Collector::flush(); the background thread is parked (a drain interval of an hour) so that
// it takes nothing away from the measured drains.
#include "event_stream.hpp"
#include <loopscope/probes/collector.hpp>
#include <loopscope/probes/recorder.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace probes = loopscope::probes;
namespace format = probes::format;

namespace {

// Events per drain: the default drain interval (5 ms) at a few million events per second
// gives tens of thousands; the larger size is a backlog, whose ring no longer fits the cache.
constexpr std::int64_t kDrainEvents = std::int64_t{1} << 16;
constexpr std::int64_t kBacklogEvents = std::int64_t{1} << 20;

// A few coroutines and spawn sites, as a program has: each is symbolized or interned once.
void coroutine_a() {
}
void coroutine_b() {
}
void coroutine_c() {
}
const std::array<std::uintptr_t, 3> kCoroutines = {reinterpret_cast<std::uintptr_t>(&coroutine_a),
                                                   reinterpret_cast<std::uintptr_t>(&coroutine_b),
                                                   reinterpret_cast<std::uintptr_t>(&coroutine_c)};
constexpr std::array<const char*, 2> kSiteFunctions = {
    "loopscope::Task<void> amain()", "loopscope::Task<int> {anonymous}::worker()"};
const char* const kSiteFile = __FILE__;

// Records `stream` the way the runtime does (see runtime/src/loop.cpp): task_created with
// its three extension records, lag samples with one, the rest bare.
void record_stream(probes::Recorder& rec, const std::vector<format::Record>& stream) {
  using probes::EventExt;
  using probes::EventKind;
  for (const format::Record& r : stream) {
    switch (r.kind) {
      case EventKind::kTaskCreated:
        rec.record(
            r.kind, r.ticks, r.task, r.arg,
            std::array<EventExt, 3>{EventExt{r.f[0], kCoroutines[r.f[1] % kCoroutines.size()]},
                                    EventExt{reinterpret_cast<std::uintptr_t>(kSiteFile), r.f[2]},
                                    EventExt{reinterpret_cast<std::uintptr_t>(
                                                 kSiteFunctions[r.f[2] % kSiteFunctions.size()]),
                                             r.task}});
        break;
      case EventKind::kLagSample:
        rec.record(r.kind, r.ticks, r.task, r.arg, EventExt{r.f[0], 0});
        break;
      default:
        rec.record(r.kind, r.ticks, r.task, r.arg);
        break;
    }
  }
  rec.publish();
}

void drain_to(benchmark::State& state, const std::string& path) {
  const auto events = static_cast<std::size_t>(state.range(0));
  std::vector<format::Record> stream;
  loopscope::bench::EventStream(3).next(events, stream);
  const auto collector = probes::Collector::open(
      path, probes::CollectorOptions{.ring_words = events * 8, .drain_interval_ms = 3'600'000});
  const auto recorder = collector->add_thread("bench");
  std::uint64_t written = 0;
  for (auto _ : state) {
    state.PauseTiming();
    record_stream(*recorder, stream);
    const std::uint64_t before = collector->events_written();
    state.ResumeTiming();
    collector->flush();
    state.PauseTiming();
    written += collector->events_written() - before;
    state.ResumeTiming();
  }
  // `written` counts what the timed flushes wrote: the background thread, which may still
  // be making its first drain when the loop starts, cannot run during one (it takes the same
  // lock), and whatever it took before is not counted.
  if (collector->events_written() != state.iterations() * events ||
      collector->events_dropped() != 0) {
    state.SkipWithError("events were lost");
  }
  recorder->close();
  state.SetItemsProcessed(static_cast<std::int64_t>(written));
  state.counters["dropped"] = static_cast<double>(collector->events_dropped());
}

// Chunks written to /dev/null: the collector's own work.
void BM_Collector_DrainEncodeWrite(benchmark::State& state) {
  drain_to(state, "/dev/null");
}
BENCHMARK(BM_Collector_DrainEncodeWrite)
    ->Arg(kDrainEvents)
    ->Arg(kBacklogEvents)
    ->Unit(benchmark::kMillisecond);

// The same into a real file (page cache; 300 KB per iteration, so the run is bounded).
void BM_Collector_DrainEncodeWriteFile(benchmark::State& state) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("loopscope_collector_bench_" + std::to_string(::getpid()) + ".lstrace");
  drain_to(state, path.string());
  std::filesystem::remove(path);
}
BENCHMARK(BM_Collector_DrainEncodeWriteFile)
    ->Arg(kDrainEvents)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(300);

}  // namespace
