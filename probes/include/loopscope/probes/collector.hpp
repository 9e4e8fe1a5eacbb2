// Collector: drains the recorders of every loop thread into a trace file.
//
// One per trace file, shared by the loops that record into it (a thread-per-core program
// gets one track per loop thread). A background thread wakes every few milliseconds (sooner
// when a ring fills up), converts the raw events into trace records (code addresses become
// symbolized locations, once each), delta-encodes them and appends chunks to the file, which
// it flushes at least every 100 ms: a crash loses at most that interval. Closing writes the
// end chunk with the totals, so that emitted = written + dropped can be checked.
//
// Failing writes (disk full, closed fd) disable the collector, reported once on stderr; the
// loops keep running and their events are counted as dropped.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <loopscope/probes/recorder.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace loopscope::probes {

struct CollectorOptions {
  std::size_t ring_slots = std::size_t{1} << 21;  // 2 Mi events (32 MiB) per loop thread
  unsigned drain_interval_ms = 5;
  unsigned flush_interval_ms = 100;
};

class Collector {
 public:
  // Opens (truncates) `path` and starts the collector thread. Throws std::system_error.
  static std::shared_ptr<Collector> open(const std::string& path, CollectorOptions options = {});
  // The collector writing `path` in this process, creating it if needed (loops that name the
  // same trace file share it).
  static std::shared_ptr<Collector> shared(const std::string& path);

  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  Collector(Collector&&) = delete;
  Collector& operator=(Collector&&) = delete;
  // Drains everything, writes the end chunk and closes the file.
  ~Collector();

  // A recorder for the calling thread. Keep it alive while recording and close() it when
  // done; the collector drains it until then (and then once more).
  std::shared_ptr<Recorder> add_thread(std::string name);

  // Totals so far.
  [[nodiscard]] std::uint64_t events_written() const noexcept;
  [[nodiscard]] std::uint64_t events_dropped() const noexcept;
  // Drains and writes everything recorded so far (tests use it).
  void flush();

  struct Impl;

 private:
  explicit Collector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loopscope::probes
