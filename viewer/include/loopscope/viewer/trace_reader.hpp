// TraceReader: a streaming reader of `.lstrace` files (docs/trace-format.md).
//
// It validates the file header, walks the chunks in order, verifies each chunk's CRC-32C,
// decodes it and hands every item to a TraceVisitor: the header, clock sync points, thread,
// string and location definitions, the events with their thread (in batches), drops,
// warnings, task names and the end marker. Memory stays bounded whatever the file's size: a
// file is read through one buffer that holds at most one chunk (chunks are capped at 64 MiB),
// and decoded strings are views into that buffer, valid only during the visitor call.
//
// A trace cut short (a chunk, or a chunk header, running past the end of the data, or no
// `end` chunk) is not an error: the reader delivers everything before the cut, calls
// on_truncated() with the byte offset and returns normally. Corruption is an error: a file
// shorter than the header, a wrong magic, version or header checksum, a complete chunk with
// a bad CRC, an unknown type or flags, an oversize length, or a payload that does not
// decode throws TraceError naming the byte offset and the chunk index.
//
//   loopscope::viewer::TraceReader reader("run.lstrace");
//   MyVisitor v;
//   const auto result = reader.read(v);
//
// Thread-safety: a TraceReader is used by one thread at a time.
#pragma once

#include <loopscope/probes/trace_format.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loopscope::viewer {

namespace format = probes::format;

// Corruption or an unreadable file. chunk_index() is empty for errors in the file header.
class TraceError : public std::runtime_error {
 public:
  TraceError(const std::string& message, std::uint64_t offset,
             std::optional<std::uint64_t> chunk_index = std::nullopt);
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] std::optional<std::uint64_t> chunk_index() const noexcept { return chunk_; }

 private:
  std::uint64_t offset_;
  std::optional<std::uint64_t> chunk_;
};

// Receives the decoded items in file order. Every method defaults to doing nothing.
class TraceVisitor {
 public:
  TraceVisitor() = default;
  TraceVisitor(const TraceVisitor&) = default;
  TraceVisitor& operator=(const TraceVisitor&) = default;
  TraceVisitor(TraceVisitor&&) = default;
  TraceVisitor& operator=(TraceVisitor&&) = default;
  virtual ~TraceVisitor() = default;

  virtual void on_header(const format::FileHeader& /*header*/) {}
  virtual void on_clock_sync(std::span<const probes::ClockSync> /*points*/) {}
  virtual void on_thread(const format::ThreadInfo& /*thread*/) {}
  virtual void on_string(std::uint64_t /*id*/, std::string_view /*text*/) {}
  virtual void on_location(const format::Location& /*location*/) {}
  virtual void on_event(std::uint32_t /*thread*/, const format::Record& /*event*/) {}
  // The events of one thread, in order, a batch at a time (the reader decodes each events
  // chunk in batches of up to kEventBatch). The default hands each to on_event(); a visitor
  // that overrides this instead saves a virtual call per event.
  virtual void on_events(std::uint32_t thread, std::span<const format::Record> events) {
    for (const format::Record& r : events) {
      on_event(thread, r);
    }
  }
  // An events chunk of `count` events of `thread`, the first at `first_ticks`, before its
  // events are decoded. Returning false skips them (no on_events() for this chunk, and they
  // are not decoded, so not checked either): a pass that only needs to know where the events
  // are saves the decoding.
  virtual bool on_events_chunk(std::uint32_t /*thread*/, std::uint64_t /*count*/,
                               std::uint64_t /*first_ticks*/) {
    return true;
  }
  virtual void on_drops(const format::Drops& /*drops*/) {}
  virtual void on_warning(const format::WarningRecord& /*warning*/) {}
  virtual void on_task_name(const format::TaskName& /*name*/) {}
  virtual void on_task_error(const format::TaskError& /*error*/) {}
  virtual void on_end(const format::EndInfo& /*end*/) {}
  // The trace stops early at `offset`; everything before it was delivered.
  virtual void on_truncated(std::uint64_t /*offset*/, std::string_view /*reason*/) {}
};

struct Truncation {
  std::uint64_t offset;
  std::string reason;
};

struct ReadResult {
  std::uint64_t chunks = 0;          // complete chunks read
  std::uint64_t events = 0;          // event records delivered
  std::uint64_t events_skipped = 0;  // in chunks the visitor skipped (on_events_chunk)
  std::uint64_t bytes = 0;           // bytes consumed, header included
  bool complete = false;             // the `end` chunk was read
  std::uint64_t trailing_bytes = 0;  // bytes after the `end` chunk (ignored)
  std::optional<Truncation> truncation;
};

class TraceReader {
 public:
  // Events per TraceVisitor::on_events() call at most: small enough to stay in the L1 cache.
  static constexpr std::size_t kEventBatch = 256;

  // Opens `path`; throws TraceError if it cannot be opened.
  explicit TraceReader(const std::filesystem::path& path);
  // Reads a trace held in memory (a live stream's bytes, a test's buffer). The bytes must
  // outlive the reader.
  explicit TraceReader(std::span<const std::byte> bytes);
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;
  TraceReader(TraceReader&&) = delete;
  TraceReader& operator=(TraceReader&&) = delete;
  ~TraceReader();

  // Reads the whole trace from the start, calling `visitor` for every item. Exceptions
  // thrown by the visitor propagate unchanged.
  ReadResult read(TraceVisitor& visitor);

 private:
  bool ensure(std::size_t n);
  [[nodiscard]] std::span<const std::byte> view(std::size_t n) const noexcept;
  void advance(std::size_t n) noexcept;
  void read_header(TraceVisitor& visitor);
  void read_chunk(const format::ChunkHeader& header, std::span<const std::byte> payload,
                  TraceVisitor& visitor, ReadResult& result);
  void read_events(std::span<const std::byte> payload, TraceVisitor& visitor, ReadResult& result);
  void rewind();

  // Memory mode: memory_ is the whole trace. File mode: fd_ >= 0 and buffer_[begin_, end_)
  // holds the file's bytes from offset consumed_ on.
  std::span<const std::byte> memory_;
  int fd_ = -1;
  std::optional<std::uint64_t> file_size_;  // known for regular files
  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;       // cursor within memory_ or buffer_
  std::size_t end_ = 0;         // valid bytes in memory_ or buffer_
  std::uint64_t consumed_ = 0;  // bytes before the cursor since the start of the trace
  bool eof_ = false;
  std::uint64_t chunk_index_ = 0;
  std::vector<format::Record> event_batch_;
  std::vector<probes::ClockSync> sync_scratch_;
  format::WarningRecord warning_scratch_;
};

}  // namespace loopscope::viewer
