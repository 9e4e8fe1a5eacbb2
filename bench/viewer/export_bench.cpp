// The viewer on a 10-million-event trace: the full report (analysis and text rendering) and
// the three exports, each reading the trace from a file as `loopscope` does and writing to a
// stream that only counts bytes (the disk is not what is measured here).
//
// The trace is written once per run to the temporary directory: a TSC trace (so the clock
// conversion is on the measured path) of one loop running a program with a thousand tasks
// alive at a time (ProgramStream below). The exports' cost depends on the tasks' structure
// (names, spans, flows), so the stream models it where the codec's EventStream does not. To
// keep the file for measuring the command itself:
//
//   ./build/release/bench/viewer/export_bench --write-trace /tmp/10m.lstrace [EVENTS]
//   /usr/bin/time -v ./build/release/viewer/loopscope report /tmp/10m.lstrace >/dev/null
#include <loopscope/viewer/export.hpp>
#include <loopscope/viewer/report.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <streambuf>
#include <string>
#include <unistd.h>

namespace format = loopscope::probes::format;
namespace viewer = loopscope::viewer;

namespace {

constexpr std::size_t kEvents = 10'000'000;
constexpr std::size_t kLocations = 40;

// A program's loop: up to kLive tasks alive at once, spawned by the steps of others from 40
// sites; each runs a few steps, suspending on a sleep (woken by its timer), a yield or
// another wait, and finishes; poll windows between batches of steps, lag samples now and
// then. Task ids are new for every task, as a runtime's are.
class ProgramStream {
 public:
  static constexpr std::size_t kLive = 1000;

  explicit ProgramStream(std::uint64_t seed) : rng_(seed) {}

  // Appends about n events (whole loop iterations) to `out` (cleared first).
  void next(std::size_t n, std::vector<format::Record>& out) {
    out.clear();
    while (out.size() < n) {
      iteration(out);
    }
  }

 private:
  using K = loopscope::probes::EventKind;

  void add(std::vector<format::Record>& out, std::uint64_t dt, K kind, std::uint32_t task,
           std::uint16_t arg = 0, std::uint64_t f0 = 0, std::uint64_t f1 = 0,
           std::uint64_t f2 = 0) {
    ticks_ += dt;
    out.push_back(format::Record{ticks_, kind, task, arg, {f0, f1, f2}});
  }
  void spawn(std::vector<format::Record>& out, std::uint32_t parent) {
    const std::uint64_t site = 1 + rng_() % kLocations;
    live_.push_back(next_task_);
    add(out, 20, K::kTaskCreated, next_task_++, 0, parent, site, 1 + (site * 7) % kLocations);
  }
  void step(std::vector<format::Record>& out) {
    const std::size_t pick = rng_() % live_.size();
    const std::uint32_t task = live_[pick];
    if (rng_() % 3 == 0) {
      add(out, 10, K::kTimerFired, task);  // it slept
    }
    add(out, 50, K::kTaskResumed, task);
    if (live_.size() < kLive && rng_() % 3 == 0) {
      spawn(out, task);
    }
    const std::uint64_t busy = 100 + rng_() % (rng_() % 64 == 0 ? 40'000 : 2'000);
    if (rng_() % 6 == 0 && live_.size() > kLive / 2) {
      add(out, busy, K::kTaskFinished, task, 1);
      live_[pick] = live_.back();
      live_.pop_back();
    } else {
      const auto reason = static_cast<std::uint16_t>(1 + rng_() % 12);
      add(out, busy, K::kTaskSuspended, task, reason, reason == 3 ? live_[0] : 0);
    }
  }
  void iteration(std::vector<format::Record>& out) {
    add(out, 100, K::kPollBegin, 0);
    add(out, 200 + rng_() % 20'000, K::kPollEnd, 0, static_cast<std::uint16_t>(rng_() % 4));
    if (rng_() % 4 == 0) {
      add(out, 10, K::kLagSample, 0, 0, 500 + rng_() % 50'000);
    }
    while (live_.size() < kLive / 2) {
      spawn(out, 0);
    }
    for (std::uint64_t steps = 1 + rng_() % 8; steps > 0; --steps) {
      step(out);
    }
  }

  std::mt19937_64 rng_;
  std::uint64_t ticks_ = 1'000'000'000;
  std::uint32_t next_task_ = 1;
  std::vector<std::uint32_t> live_;
};

void write_trace(const std::filesystem::path& path, std::size_t events = kEvents) {
  format::Bytes out;
  format::append_header(out, {loopscope::probes::TickSource::kTsc, 0, 1});
  const std::vector<loopscope::probes::ClockSync> sync = {{0, 0}, {1ull << 40, 1ull << 39}};
  format::append_clock_sync(out, sync);
  format::append_thread(out, 0, 100, "loop");
  std::vector<std::string> names;
  std::vector<std::pair<std::uint64_t, std::string_view>> strings;
  names.reserve(kLocations + 1);
  names.emplace_back("bench/app.cpp");
  for (std::size_t i = 1; i <= kLocations; ++i) {
    names.push_back("coroutine_" + std::to_string(i) + "(int)");
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    strings.emplace_back(i + 1, names[i]);
  }
  format::append_strings(out, strings);
  std::vector<format::Location> locations;
  for (std::uint64_t i = 1; i <= kLocations; ++i) {
    locations.push_back({i, 0x1000 * i, i + 1, 1, 10 * i});
  }
  format::append_locations(out, locations);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  ProgramStream stream(7);
  std::vector<format::Record> batch;
  std::size_t written = 0;
  while (written < events) {
    stream.next(std::min(format::kMaxEventsPerChunk - 64, events - written), batch);
    batch.resize(std::min(batch.size(), events - written));
    format::append_events(out, 0, batch);
    written += batch.size();
    file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    out.clear();
  }
  format::append_end(out, events, 0);
  file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

// Written on first use, removed at exit.
std::filesystem::path g_trace;

const std::filesystem::path& trace_path() {
  if (g_trace.empty()) {
    g_trace = std::filesystem::temp_directory_path() /
              ("loopscope_export_bench_" + std::to_string(::getpid()) + ".lstrace");
    write_trace(g_trace);
  }
  return g_trace;
}

// Counts what it is given and keeps none of it.
class CountingBuf final : public std::streambuf {
 public:
  std::uint64_t bytes = 0;

 protected:
  std::streamsize xsputn(const char* /*s*/, std::streamsize n) override {
    bytes += static_cast<std::uint64_t>(n);
    return n;
  }
  int_type overflow(int_type c) override {
    ++bytes;
    return traits_type::not_eof(c);
  }
};

void BM_Viewer_Report(benchmark::State& state) {
  for (auto _ : state) {
    viewer::TraceReader reader(trace_path());
    const viewer::Report report = viewer::analyze(reader);
    CountingBuf buf;
    std::ostream out(&buf);
    viewer::render_text(report, out);
    if (report.events != kEvents) {
      state.SkipWithError("the report did not see every event");
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kEvents));
}
BENCHMARK(BM_Viewer_Report)->Unit(benchmark::kMillisecond);

void BM_Viewer_Export(benchmark::State& state, viewer::ExportFormat format) {
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    viewer::TraceReader reader(trace_path());
    CountingBuf buf;
    std::ostream out(&buf);
    const viewer::ExportResult result = viewer::export_trace(reader, format, out);
    if (result.events != kEvents || !result.complete) {
      state.SkipWithError("the export did not read every event");
    }
    bytes = buf.bytes;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kEvents));
  state.counters["output_MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK_CAPTURE(BM_Viewer_Export, Perfetto, viewer::ExportFormat::kPerfetto)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Viewer_Export, Chrome, viewer::ExportFormat::kChrome)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Viewer_Export, Speedscope, viewer::ExportFormat::kSpeedscope)
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 3 || argc == 4) && std::strcmp(argv[1], "--write-trace") == 0) {
    write_trace(argv[2], argc == 4 ? std::stoull(argv[3]) : kEvents);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!g_trace.empty()) {
    std::error_code ignored;
    std::filesystem::remove(g_trace, ignored);
  }
  return 0;
}
