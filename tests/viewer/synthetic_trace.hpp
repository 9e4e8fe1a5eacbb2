// A small hand-made trace whose report is known exactly, and file helpers for the viewer
// tests. All times are in nanoseconds of the monotonic tick source; with `tsc` the ticks
// are doubled and two clock_sync points say so, which must give the same report.
#pragma once

#include <loopscope/probes/trace_format.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace loopscope::testing {

namespace fmt = probes::format;
using probes::EventKind;

// Expected figures of synthetic_trace().
inline constexpr std::uint64_t kSyntheticEvents = 23;  // 21 on the loop, 2 on the pool
inline constexpr std::uint64_t kSyntheticDropped = 5;

inline fmt::Bytes synthetic_trace(bool tsc = false, bool with_end = true) {
  const std::uint64_t scale = tsc ? 2 : 1;
  fmt::Bytes out;
  fmt::append_header(
      out, fmt::FileHeader{tsc ? probes::TickSource::kTsc : probes::TickSource::kMonotonicNs,
                           1'700'000'000'000'000'000u, 4321});
  const std::vector<probes::ClockSync> sync = {{0, 0}, {100'000 * scale, 100'000}};
  fmt::append_clock_sync(out, sync);
  fmt::append_thread(out, 0, 1001, "main");
  fmt::append_thread(out, 1, 1002, "pool-0");
  const std::vector<std::pair<std::uint64_t, std::string_view>> strings = {
      {1, "worker"}, {2, "main.cpp"}, {3, "amain"}, {4, "std::runtime_error"}, {5, "helper"}};
  fmt::append_strings(out, strings);
  // Two addresses of `worker` (they merge into one site), the spawn site, `helper`.
  const std::vector<fmt::Location> locations = {
      {1, 0x1000, 1, 2, 10}, {2, 0, 3, 2, 42}, {3, 0x2000, 5, 2, 20}, {4, 0x1008, 1, 2, 10}};
  fmt::append_locations(out, locations);
  const auto ev = [&](std::uint64_t t, EventKind kind, std::uint32_t task, std::uint16_t arg = 0,
                      std::uint64_t f0 = 0, std::uint64_t f1 = 0, std::uint64_t f2 = 0) {
    return fmt::Record{t * scale, kind, task, arg, {f0, f1, f2}};
  };
  const std::vector<fmt::Record> main_events = {
      ev(1000, EventKind::kTaskCreated, 1, 0, 0, 1, 2),
      ev(1000, EventKind::kTaskCreated, 2, 0, 0, 1, 2),
      ev(1100, EventKind::kTaskCreated, 3, 0, 0, 3, 2),
      ev(1100, EventKind::kTaskCreated, 4, 0, 0, 4, 2),
      ev(2000, EventKind::kTaskResumed, 1),
      ev(2500, EventKind::kTaskSuspended, 1, 2),  // sleep: step 500
      ev(2600, EventKind::kTaskResumed, 2),
      ev(3600, EventKind::kTaskSuspended, 2, 3, 3),  // await_task 3: step 1000
      ev(3700, EventKind::kTaskResumed, 3),
      ev(3900, EventKind::kTaskFinished, 3, 1),  // done: helper step 200
      ev(3910, EventKind::kTaskResumed, 4),
      ev(3960, EventKind::kTaskSuspended, 4, 1),  // yield: step 50
      ev(4000, EventKind::kPollBegin, 0),
      ev(14000, EventKind::kPollEnd, 0, 1),  // idle 10000
      ev(14100, EventKind::kLagSample, 0, 0, 100),
      ev(14200, EventKind::kTaskResumed, 1),
      ev(14500, EventKind::kTaskFinished, 1, 2, 4),  // failed: step 300
      ev(14600, EventKind::kTaskResumed, 2),
      ev(14800, EventKind::kTaskFinished, 2, 3),  // cancelled: step 200
      ev(15000, EventKind::kLagSample, 0, 0, 300),
      ev(15000, EventKind::kLagSample, 0, 0, 200),
  };
  fmt::append_events(out, 0, std::span(main_events).first(12));
  fmt::append_drops(out, 0, kSyntheticDropped, 3960 * scale, 4000 * scale);
  fmt::append_events(out, 0, std::span(main_events).subspan(12));
  const std::vector<fmt::Record> pool_events = {
      ev(5000, EventKind::kThreadJobStarted, 0, 0, 1),
      ev(9000, EventKind::kThreadJobFinished, 0, 0, 1),
  };
  fmt::append_events(out, 1, pool_events);  // not a loop: no loop entry
  fmt::append_task_name(out, 0, 2, "second worker");
  fmt::append_task_error(out, 0, 1, "disk full");
  fmt::append_warning(out, fmt::WarningRecord{0, 2600 * scale, 0, 2, "task took 1 us", {1, 2}});
  fmt::append_warning(out, fmt::WarningRecord{0, 14000 * scale, 2, 0, "never awaited", {}});
  fmt::append_warning(out, fmt::WarningRecord{0, 15000 * scale, 200, 0, "from the future", {}});
  if (with_end) {
    fmt::append_end(out, kSyntheticEvents, kSyntheticDropped);
  }
  return out;
}

// A file in the temporary directory, removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& name, const fmt::Bytes& contents = {})
      : path_(std::filesystem::temp_directory_path() /
              ("loopscope_" + std::to_string(::getpid()) + "_" + name)) {
    write(contents);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile(TempFile&&) = delete;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  void write(const fmt::Bytes& contents) const {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(contents.data()),
            static_cast<std::streamsize>(contents.size()));
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A chunk with a valid CRC around an arbitrary payload: reaches the payload decoders.
inline void append_raw_chunk(fmt::Bytes& out, std::uint8_t type, const fmt::Bytes& payload,
                             std::uint32_t length_override = 0) {
  const std::size_t at = out.size();
  out.resize(at + fmt::kChunkHeaderSize);
  const std::uint32_t length =
      length_override != 0 ? length_override : static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) {
    out[at + i] = static_cast<std::byte>(length >> (8 * i));
  }
  out[at + 4] = static_cast<std::byte>(type);
  out.insert(out.end(), payload.begin(), payload.end());
  const std::uint32_t crc = fmt::chunk_crc({out.data() + at, fmt::kChunkHeaderSize}, payload);
  for (int i = 0; i < 4; ++i) {
    out[at + 8 + i] = static_cast<std::byte>(crc >> (8 * i));
  }
}

}  // namespace loopscope::testing
