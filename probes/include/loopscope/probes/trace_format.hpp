// The `.lstrace` codec: the encoder the collector writes traces with, and the decoder the
// viewer reads them with. docs/trace-format.md is the specification; this is its one
// implementation, shared by both sides.
//
// Encoding: every append_* function writes one complete chunk (or, for append_events, as
// many as the events need) at the end of a byte vector: the 12-byte chunk header is written
// as a placeholder, the payload is encoded in place, then the length and the CRC-32C are
// patched in. No temporary buffer per chunk; the vector grows geometrically.
//
// Decoding: ByteReader is a bounds-checked cursor over one chunk payload; every read that
// would run past the end, a varint longer than 10 bytes or a value out of its field's range
// throws FormatError with the offset in the payload. EventDecoder (and decode_events() on
// top of it) is the exact inverse of append_events() for events whose ticks never decrease
// (the encoder clamps a backwards step to the previous timestamp). Decoders never allocate
// more than the payload's size implies, so hostile input cannot make them exhaust memory.
//
// Thread-safety: all functions are reentrant; nothing here has shared state except the
// CRC tables, which are constant.
#pragma once

#include <loopscope/probes/clock.hpp>
#include <loopscope/probes/event.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loopscope::probes::format {

using Bytes = std::vector<std::byte>;

inline constexpr std::array<char, 8> kMagic{'L', 'S', 'T', 'R', 'A', 'C', 'E', '\0'};
// The version this writer writes, and the oldest one readers read: version 1 is version 2
// without task_error chunks.
inline constexpr std::uint16_t kVersion = 2;
inline constexpr std::uint16_t kOldestVersion = 1;
inline constexpr std::size_t kHeaderSize = 32, kChunkHeaderSize = 12;
inline constexpr std::uint32_t kMaxChunkPayload = 64u << 20;
// The encoder cuts a thread's events into chunks of at most this many, so a reader holds at
// most one such chunk (a few hundred KiB) and a cut-short file loses little.
inline constexpr std::size_t kMaxEventsPerChunk = 1u << 16;

enum class ChunkType : std::uint8_t {
  kClockSync = 1,
  kThread,
  kString,
  kLocation,
  kEvents,
  kDrops,
  kWarning,
  kTaskName,
  kEnd,
  kTaskError,  // since version 2
};
inline constexpr std::array<std::string_view, 11> kChunkTypeNames = {
    "?",     "clock_sync", "thread",    "string", "location",  "events",
    "drops", "warning",    "task_name", "end",    "task_error"};

// The numeric values the trace stores in `arg` and in warnings (docs/trace-format.md).
inline constexpr std::array<std::string_view, 14> kSuspendReasonNames = {
    "none",     "yield",     "sleep",     "await_task", "wait_tasks", "task_group_join",
    "event",    "queue_get", "queue_put", "semaphore",  "lock",       "io_read",
    "io_write", "thread_job"};
inline constexpr std::array<std::string_view, 4> kTaskStateNames = {"pending", "done", "failed",
                                                                    "cancelled"};
inline constexpr std::array<std::string_view, 13> kWarningKindNames = {
    "slow_callback",
    "stall",
    "never_awaited",
    "destroyed_pending",
    "exception_never_retrieved",
    "loop_lag",
    "thread_safety",
    "wrong_loop",
    "nested_run",
    "swallowed_cancellation",
    "blocking_call",
    "unbounded_fanout",
    "generator_closed_by_cancellation"};

struct FileHeader {
  TickSource tick_source;
  std::uint64_t start_unix_ns;
  std::uint32_t pid;
};

// One event in logical form: addresses already replaced by location ids. `f` holds the
// kind's fields in spec order, unused ones 0:
//   task_created:   parent task id, coroutine location id, spawn-site location id
//   task_suspended: the awaited object (task id, fd, ...; 0 if none)
//   task_finished:  exception type string id (0 unless it failed)
//   callback_begin: callback type name string id
//   thread_job_*:   job id
//   lag_sample:     lag in ns
struct Record {
  std::uint64_t ticks;
  EventKind kind;
  std::uint32_t task;
  std::uint16_t arg;
  std::uint64_t f[3];  // NOLINT(modernize-avoid-c-arrays): the contract's aggregate shape
};

struct Location {
  std::uint64_t id, address, function, file, line;
};

struct WarningRecord {
  std::uint32_t thread;
  std::uint64_t ticks;
  std::uint8_t kind;
  std::uint64_t task;
  std::string message;
  std::vector<std::uint64_t> frames;  // location ids, innermost first
};

// The decoded forms of the small fixed chunks; string views point into the payload.
struct ThreadInfo {
  std::uint32_t index;
  std::uint64_t os_tid;
  std::string_view name;
};
struct Drops {
  std::uint32_t thread;
  std::uint64_t count, ticks_before, ticks_after;
};
struct TaskName {
  std::uint32_t thread;
  std::uint64_t task;
  std::string_view name;
};
// What a failed task's exception said (its what(), empty for an exception that is not a
// std::exception); its type is in the task's task_finished event.
struct TaskError {
  std::uint32_t thread;
  std::uint64_t task;
  std::string_view message;
};
struct EndInfo {
  std::uint64_t written, dropped;
};
struct ChunkHeader {
  std::uint32_t length;
  std::uint8_t type;  // raw: may be a type this reader does not know
  std::uint8_t flags;
  std::uint16_t reserved;
  std::uint32_t crc;
};

// Number of varint fields that follow the header of an event of `kind`: one per extension
// record the recorder writes (addresses and static strings become ids on the way).
constexpr int field_count(EventKind kind) noexcept {
  return max_ext(kind);
}

constexpr std::uint64_t zigzag_encode(std::int64_t n) noexcept {
  return (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
}
constexpr std::int64_t zigzag_decode(std::uint64_t u) noexcept {
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

// Writes `v` as LEB128 at `p` (room for 10 bytes needed); returns the end.
inline std::byte* encode_varint(std::byte* p, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<std::byte>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::byte>(v);
  return p;
}

// ---- encoder ----

void put_varint(Bytes& out, std::uint64_t v);
std::uint32_t crc32c(std::span<const std::byte> data) noexcept;
// Continues a CRC-32C: crc32c_extend(crc32c(a), b) == crc32c(a followed by b).
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> data) noexcept;
// The CRC stored in a chunk header: over header bytes 0-7, then the payload.
std::uint32_t chunk_crc(std::span<const std::byte> header,
                        std::span<const std::byte> payload) noexcept;
namespace detail {
std::uint32_t crc32c_portable(std::span<const std::byte> data) noexcept;  // tests compare paths
// Whether the event codec uses BMI2's pdep/pext (where the CPU has fast ones) or portable
// shifts; tests turn it off to check the other path. Not thread-safe.
bool event_codec_bmi2() noexcept;
void set_event_codec_bmi2(bool enabled) noexcept;
}  // namespace detail

void append_header(Bytes& out, const FileHeader& h);
void append_clock_sync(Bytes& out, std::span<const ClockSync> points);
void append_thread(Bytes& out, std::uint32_t index, std::uint64_t os_tid, std::string_view name);
void append_strings(Bytes& out,
                    std::span<const std::pair<std::uint64_t, std::string_view>> strings);
void append_locations(Bytes& out, std::span<const Location> locations);
// Delta-encodes; splits into chunks of at most kMaxEventsPerChunk events. Writes nothing
// for an empty span.
void append_events(Bytes& out, std::uint32_t thread, std::span<const Record> events);

// append_events() a batch at a time: the collector's hot loop, which converts a few hundred
// raw events into records, hands them over, and reuses the records' memory for the next
// batch, so that they stay in the cache. The chunks come out as append_events() would write
// them given all the events in one span: one is open between add() calls, and finish()
// completes it (an unfinished chunk is not a valid chunk).
class EventEncoder {
 public:
  EventEncoder(Bytes& out, std::uint32_t thread) noexcept : out_(out), thread_(thread) {}
  EventEncoder(const EventEncoder&) = delete;
  EventEncoder& operator=(const EventEncoder&) = delete;
  EventEncoder(EventEncoder&&) = delete;
  EventEncoder& operator=(EventEncoder&&) = delete;
  ~EventEncoder() = default;

  void add(std::span<const Record> events);
  // Completes the open chunk, if any; add() opens a new one.
  void finish();

 private:
  void open(std::uint64_t base_ticks);

  Bytes& out_;
  std::uint32_t thread_;
  bool open_ = false;
  std::size_t start_ = 0;     // the open chunk's offset in out_
  std::size_t count_at_ = 0;  // offset of its event count field from start_
  std::size_t count_ = 0;     // events in it
  std::uint64_t ticks_ = 0;   // the previous event's
  std::uint32_t task_ = 0;    // the last event's that had one
};
void append_drops(Bytes& out, std::uint32_t thread, std::uint64_t count, std::uint64_t ticks_before,
                  std::uint64_t ticks_after);
void append_warning(Bytes& out, const WarningRecord& w);
void append_task_name(Bytes& out, std::uint32_t thread, std::uint64_t task, std::string_view name);
void append_task_error(Bytes& out, std::uint32_t thread, std::uint64_t task,
                       std::string_view message);
void append_end(Bytes& out, std::uint64_t written, std::uint64_t dropped);

// ---- decoder ----

// A payload (or header) that does not decode; offset counts from the start of what was
// being decoded.
class FormatError : public std::runtime_error {
 public:
  FormatError(std::uint64_t offset, const std::string& message)
      : std::runtime_error(message), offset_(offset) {}
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::uint64_t offset_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> data) noexcept
      : begin_(data.data()), cur_(data.data()), end_(data.data() + data.size()) {}

  [[nodiscard]] std::size_t offset() const noexcept {
    return static_cast<std::size_t>(cur_ - begin_);
  }
  [[nodiscard]] std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - cur_);
  }
  [[nodiscard]] bool empty() const noexcept { return cur_ == end_; }

  std::uint8_t u8() {
    if (cur_ == end_) [[unlikely]] {
      fail("unexpected end of data");
    }
    return static_cast<std::uint8_t>(*cur_++);
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  // One- and two-byte varints (most fields and tick deltas) take the inline path.
  std::uint64_t varint() {
    if (cur_ != end_) [[likely]] {
      const auto b0 = static_cast<std::uint8_t>(cur_[0]);
      if (b0 < 0x80) [[likely]] {
        ++cur_;
        return b0;
      }
      if (end_ - cur_ >= 2) {
        const auto b1 = static_cast<std::uint8_t>(cur_[1]);
        if (b1 < 0x80) {
          cur_ += 2;
          return (b0 & 0x7fu) | (std::uint64_t{b1} << 7);
        }
      }
    }
    return varint_slow();
  }
  // A varint that must fit the named field's range.
  std::uint64_t varint_max(std::uint64_t max, const char* field) {
    const std::uint64_t v = varint();
    if (v > max) [[unlikely]] {
      out_of_range(v, field);
    }
    return v;
  }
  std::string_view string();
  std::span<const std::byte> bytes(std::size_t n);
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::uint64_t fixed(int n);
  std::uint64_t varint_slow();
  [[noreturn]] void out_of_range(std::uint64_t value, const char* field) const;

  const std::byte* begin_;
  const std::byte* cur_;
  const std::byte* end_;
};

// Validates the 32-byte file header (magic, version, CRC, reserved bytes). `header_size`
// receives the header's declared size (>= kHeaderSize; readers skip the rest).
FileHeader decode_header(std::span<const std::byte> data, std::uint32_t& header_size);
ChunkHeader decode_chunk_header(std::span<const std::byte, kChunkHeaderSize> data) noexcept;

// Decoders of the other chunk types; each consumes the whole payload or throws.
void decode_clock_sync(std::span<const std::byte> payload, std::vector<ClockSync>& out);
ThreadInfo decode_thread(std::span<const std::byte> payload);
Drops decode_drops(std::span<const std::byte> payload);
void decode_warning(std::span<const std::byte> payload, WarningRecord& out);
TaskName decode_task_name(std::span<const std::byte> payload);
TaskError decode_task_error(std::span<const std::byte> payload);
EndInfo decode_end(std::span<const std::byte> payload);

template <class F>  // F: void(std::uint64_t id, std::string_view text)
void decode_strings(std::span<const std::byte> payload, F&& on_string) {
  ByteReader in(payload);
  while (!in.empty()) {
    const std::uint64_t id = in.varint();
    on_string(id, in.string());
  }
}

template <class F>  // F: void(const Location&)
void decode_locations(std::span<const std::byte> payload, F&& on_location) {
  ByteReader in(payload);
  while (!in.empty()) {
    Location loc{};
    loc.id = in.varint();
    loc.address = in.varint();
    loc.function = in.varint();
    loc.file = in.varint();
    loc.line = in.varint();
    on_location(std::as_const(loc));
  }
}

// Decodes the events of one `events` chunk payload, a batch at a time: the reader's hot
// loop. The constructor reads the chunk's thread index, event count and base ticks; each
// next() decodes the following events into a caller's buffer. Events are checked as strictly
// as the rest of the format (kind, task range, arg range, varint length, tick overflow);
// where the fast path meets anything unusual (a varint longer than 8 bytes, the last bytes
// of the payload, an error) it hands the event to a bounds-checked decoder, which throws
// FormatError with the offset in the payload.
//
//   EventDecoder decoder(payload);
//   std::array<Record, 256> batch;
//   while (const std::size_t n = decoder.next(batch)) { use(decoder.thread(), batch, n); }
class EventDecoder {
 public:
  explicit EventDecoder(std::span<const std::byte> payload);

  [[nodiscard]] std::uint32_t thread() const noexcept { return thread_; }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  // The chunk's base ticks: those of its first event (the deltas are never negative).
  [[nodiscard]] std::uint64_t base_ticks() const noexcept { return base_ticks_; }
  // Events not decoded yet.
  [[nodiscard]] std::uint64_t remaining() const noexcept { return left_; }

  // Decodes up to out.size() of the remaining events into `out` and returns how many; 0 once
  // every event has been decoded, after checking that the payload ends with the last one.
  // An event that does not decode throws; the events before it are returned first (the call
  // that reaches it returns them, the next call throws).
  std::size_t next(std::span<Record> out);

 private:
  void decode_checked(Record& r);

  const std::byte* begin_;
  const std::byte* cur_;
  const std::byte* end_;
  std::uint64_t ticks_ = 0;
  std::uint64_t base_ticks_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t left_ = 0;
  std::uint32_t task_ = 0;  // the task of the last event that had one
  std::uint32_t thread_ = 0;
};

// The inverse of append_events for one chunk: sets `thread`, then calls on_record(record)
// for each event in order.
template <class F>  // F: void(const Record&)
void decode_events(std::span<const std::byte> payload, std::uint32_t& thread, F&& on_record) {
  EventDecoder decoder(payload);
  thread = decoder.thread();
  std::array<Record, 256> batch;  // NOLINT(cppcoreguidelines-pro-type-member-init): written first
  while (const std::size_t n = decoder.next(batch)) {
    for (std::size_t i = 0; i < n; ++i) {
      on_record(std::as_const(batch[i]));
    }
  }
}

}  // namespace loopscope::probes::format
