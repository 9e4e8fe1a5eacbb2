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
// throws FormatError with the offset in the payload. decode_events() is the exact inverse
// of append_events() for events whose ticks never decrease (the encoder clamps a backwards
// step to the previous timestamp). Decoders never allocate more than the payload's size
// implies, so hostile input cannot make them exhaust memory.
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
inline constexpr std::uint16_t kVersion = 1;
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
  kEnd
};
inline constexpr std::array<std::string_view, 10> kChunkTypeNames = {
    "?",      "clock_sync", "thread",  "string",    "location",
    "events", "drops",      "warning", "task_name", "end"};

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
void append_drops(Bytes& out, std::uint32_t thread, std::uint64_t count, std::uint64_t ticks_before,
                  std::uint64_t ticks_after);
void append_warning(Bytes& out, const WarningRecord& w);
void append_task_name(Bytes& out, std::uint32_t thread, std::uint64_t task, std::string_view name);
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

// The inverse of append_events for one chunk: sets `thread`, then calls on_record(record)
// for each event in order.
template <class F>  // F: void(const Record&)
void decode_events(std::span<const std::byte> payload, std::uint32_t& thread, F&& on_record) {
  ByteReader in(payload);
  thread = static_cast<std::uint32_t>(in.varint_max(UINT32_MAX, "thread index"));
  const std::uint64_t count = in.varint();
  // Every event takes at least two bytes (tag, tick delta).
  if (count > in.remaining() / 2) {
    in.fail("event count " + std::to_string(count) + " exceeds what the payload can hold");
  }
  Record r{};
  r.ticks = in.varint();
  std::uint32_t task = 0;  // the task of the last event that had one
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto tag = in.u8();
    const auto kind = static_cast<std::uint8_t>(tag & 0x1f);
    if (kind >= static_cast<std::uint8_t>(EventKind::kCount)) [[unlikely]] {
      in.fail("unknown event kind " + std::to_string(kind));
    }
    r.kind = static_cast<EventKind>(kind);
    if (__builtin_add_overflow(r.ticks, in.varint(), &r.ticks)) [[unlikely]] {
      in.fail("tick delta overflows");
    }
    switch (tag >> 6) {
      case 0:
        r.task = task;
        break;
      case 1: {
        const std::int64_t next = static_cast<std::int64_t>(task) + zigzag_decode(in.varint());
        if (next < 0 || next > static_cast<std::int64_t>(UINT32_MAX)) [[unlikely]] {
          in.fail("task delta leaves the 32-bit range");
        }
        task = r.task = static_cast<std::uint32_t>(next);
        break;
      }
      case 2:
        r.task = 0;
        break;
      default:
        in.fail("reserved task mode 3");
    }
    r.arg = (tag & 0x20) != 0 ? static_cast<std::uint16_t>(in.varint_max(UINT16_MAX, "arg")) : 0;
    r.f[0] = r.f[1] = r.f[2] = 0;
    const int fields = field_count(r.kind);
    for (int k = 0; k < fields; ++k) {
      r.f[k] = in.varint();
    }
    on_record(std::as_const(r));
  }
  if (!in.empty()) {
    in.fail(std::to_string(in.remaining()) + " bytes left after the last event");
  }
}

}  // namespace loopscope::probes::format
