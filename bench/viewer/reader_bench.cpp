// The reader on a 10-million-event trace: decoding alone (from memory and from a file; to a
// visitor that takes events one by one, and to one that takes the batches), and the full
// report analysis.
#include "../probes/event_stream.hpp"
#include <loopscope/viewer/report.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace format = loopscope::probes::format;
namespace viewer = loopscope::viewer;

namespace {

constexpr std::size_t kEvents = 10'000'000;

const format::Bytes& trace() {
  static const format::Bytes bytes = [] {
    format::Bytes out;
    format::append_header(out, {loopscope::probes::TickSource::kTsc, 0, 1});
    const std::vector<loopscope::probes::ClockSync> sync = {{0, 0}, {1ull << 40, 1ull << 39}};
    format::append_clock_sync(out, sync);
    loopscope::bench::EventStream stream(7);
    std::vector<format::Record> batch;
    for (std::size_t done = 0; done < kEvents; done += format::kMaxEventsPerChunk) {
      stream.next(std::min(format::kMaxEventsPerChunk, kEvents - done), batch);
      format::append_events(out, 0, batch);
    }
    format::append_end(out, kEvents, 0);
    return out;
  }();
  return bytes;
}

class Counter final : public viewer::TraceVisitor {
 public:
  std::uint64_t sum = 0;
  void on_event(std::uint32_t /*thread*/, const format::Record& r) override { sum += r.ticks; }
};

// The same through the batch interface: no virtual call per event.
class BatchCounter final : public viewer::TraceVisitor {
 public:
  std::uint64_t sum = 0;
  void on_events(std::uint32_t /*thread*/, std::span<const format::Record> events) override {
    for (const format::Record& r : events) {
      sum += r.ticks;
    }
  }
};

void check(const viewer::ReadResult& result, benchmark::State& state) {
  if (result.events != kEvents || !result.complete) {
    state.SkipWithError("the trace did not read back completely");
  }
}

void BM_Reader_DecodeFromMemory(benchmark::State& state) {
  const format::Bytes& bytes = trace();
  for (auto _ : state) {
    viewer::TraceReader reader{std::span<const std::byte>(bytes)};
    Counter counter;
    check(reader.read(counter), state);
    benchmark::DoNotOptimize(counter.sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kEvents));
  state.counters["trace_MB"] = static_cast<double>(bytes.size()) / 1e6;
}
BENCHMARK(BM_Reader_DecodeFromMemory)->Unit(benchmark::kMillisecond);

void BM_Reader_DecodeBatchesFromMemory(benchmark::State& state) {
  const format::Bytes& bytes = trace();
  for (auto _ : state) {
    viewer::TraceReader reader{std::span<const std::byte>(bytes)};
    BatchCounter counter;
    check(reader.read(counter), state);
    benchmark::DoNotOptimize(counter.sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kEvents));
}
BENCHMARK(BM_Reader_DecodeBatchesFromMemory)->Unit(benchmark::kMillisecond);

// The trace written to a temporary file for the file benchmarks, removed with the object.
class TraceFile {
 public:
  TraceFile()
      : path_(std::filesystem::temp_directory_path() /
              ("loopscope_reader_bench_" + std::to_string(::getpid()) + ".lstrace")) {
    const format::Bytes& bytes = trace();
    std::ofstream(path_, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;
  TraceFile(TraceFile&&) = delete;
  TraceFile& operator=(TraceFile&&) = delete;
  ~TraceFile() { std::filesystem::remove(path_); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

template <class Visitor>
void decode_file(benchmark::State& state) {
  const TraceFile file;
  for (auto _ : state) {
    viewer::TraceReader reader(file.path());
    Visitor visitor;
    check(reader.read(visitor), state);
    benchmark::DoNotOptimize(visitor.sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kEvents));
}

void BM_Reader_DecodeFromFile(benchmark::State& state) {
  decode_file<Counter>(state);
}
BENCHMARK(BM_Reader_DecodeFromFile)->Unit(benchmark::kMillisecond);

void BM_Reader_DecodeBatchesFromFile(benchmark::State& state) {
  decode_file<BatchCounter>(state);
}
BENCHMARK(BM_Reader_DecodeBatchesFromFile)->Unit(benchmark::kMillisecond);

void BM_Reader_Analyze(benchmark::State& state) {
  const format::Bytes& bytes = trace();
  for (auto _ : state) {
    viewer::TraceReader reader{std::span<const std::byte>(bytes)};
    const viewer::Report report = viewer::analyze(reader);
    if (report.events != kEvents) {
      state.SkipWithError("wrong event count");
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kEvents));
}
BENCHMARK(BM_Reader_Analyze)->Unit(benchmark::kMillisecond);

}  // namespace
