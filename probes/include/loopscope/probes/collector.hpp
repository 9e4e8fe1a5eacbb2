// Collector: drains the recorders of every loop thread into a trace file.
//
// One per trace file, shared by the loops that record into it (a thread-per-core program
// gets one track per loop thread). A background thread converts the raw events into trace
// records (code addresses become symbolized locations, once each), delta-encodes them and
// appends chunks to the file. An event is in the file at most 100 ms after it was recorded
// (busy_drain_interval_ms + flush_interval_ms): a crash loses at most that interval. Closing
// writes the end chunk with the totals, so that emitted = written + dropped can be checked.
//
// The collector works while its loops wait, where it can: it drains a ring when the loop
// waits in poll, and leaves a busy loop's ring alone for up to busy_drain_interval_ms (or
// until the ring is half full). Draining alongside a busy loop slows the loop whenever the
// two threads share a core's caches or execution units (SMT siblings, a VM's vCPUs): on a
// 2-vCPU VM that costs a yield-heavy loop up to 2.3x its untraced time, more than recording
// the events does (docs/BENCHMARKS.md).
//
// Failing writes (disk full, closed fd) disable the collector, reported once on stderr; the
// loops keep running and their events are counted as dropped.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <loopscope/probes/recorder.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace loopscope::probes {

struct CollectorOptions {
  // Per loop thread: 4 Mi words (32 MiB), 2-4 Mi events (a step inside a window is one or
  // two words, a timed event two).
  std::size_t ring_words = std::size_t{1} << 22;
  // How often the collector looks at the rings. It drains a ring whose loop waits in poll
  // (or has closed), or that is half full; a busy loop's ring is drained at least every
  // busy_drain_interval_ms.
  unsigned drain_interval_ms = 5;
  unsigned busy_drain_interval_ms = 40;
  // How often what was drained is written to the file.
  unsigned flush_interval_ms = 60;
};

// What the collector knows of a ring when it looks at it...
struct RingLook {
  bool closed = false;   // its thread records nothing more
  bool waiting = false;  // its thread waits in poll (Recorder::set_waiting)
  bool behind = false;   // the last drain left a quarter of the ring or more in it
  std::size_t readable = 0;
  std::size_t capacity = 0;
  std::chrono::milliseconds since_drain{0};
};
// ... and whether it drains the ring now.
[[nodiscard]] bool drain_due(const RingLook& look, const CollectorOptions& options) noexcept;

class Collector {
 public:
  // Opens (truncates) `path` and starts the collector thread. Throws std::system_error.
  static std::shared_ptr<Collector> open(const std::string& path, CollectorOptions options = {});
  // The collector writing `path` in this process, creating it with `options` if needed
  // (loops that name the same trace file share it).
  static std::shared_ptr<Collector> shared(const std::string& path, CollectorOptions options = {});

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
