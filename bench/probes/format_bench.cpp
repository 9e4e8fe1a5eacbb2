// The trace codec: encoding a thread's events into chunks (what the collector does per
// drain), checksumming, and decoding them back.
#include "event_stream.hpp"
#include <loopscope/probes/trace_format.hpp>

#include <benchmark/benchmark.h>

#include <stdexcept>

namespace format = loopscope::probes::format;

namespace {

constexpr std::size_t kEvents = std::size_t{1} << 16;

std::vector<format::Record> stream() {
  std::vector<format::Record> events;
  loopscope::bench::EventStream(1).next(kEvents, events);
  return events;
}

void BM_Format_AppendEvents(benchmark::State& state) {
  const std::vector<format::Record> events = stream();
  format::Bytes out;
  for (auto _ : state) {
    out.clear();
    format::append_events(out, 0, events);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.counters["bytes_per_event"] =
      static_cast<double>(out.size()) / static_cast<double>(events.size());
}
BENCHMARK(BM_Format_AppendEvents);

void BM_Format_DecodeEvents(benchmark::State& state) {
  const std::vector<format::Record> events = stream();
  format::Bytes out;
  format::append_events(out, 0, events);
  const std::span<const std::byte> payload =
      std::span<const std::byte>(out).subspan(format::kChunkHeaderSize);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    std::uint32_t thread = 0;
    format::decode_events(payload, thread, [&](const format::Record& r) { sum += r.ticks; });
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
}
BENCHMARK(BM_Format_DecodeEvents);

void BM_Format_Crc32c(benchmark::State& state) {
  format::Bytes data(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::byte>(i * 131);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(format::crc32c(data));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Format_Crc32c)->Arg(64)->Arg(1 << 20);

void BM_Format_Crc32cPortable(benchmark::State& state) {
  format::Bytes data(std::size_t{1} << 20);
  for (auto _ : state) {
    benchmark::DoNotOptimize(format::detail::crc32c_portable(data));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}
BENCHMARK(BM_Format_Crc32cPortable);

}  // namespace
