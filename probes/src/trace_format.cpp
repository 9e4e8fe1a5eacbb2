// The trace encoder: file header and chunks, built in place at the end of the output vector.
#include <loopscope/probes/trace_format.hpp>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace loopscope::probes::format {

namespace {

constexpr std::size_t kMaxVarint = 10;
// Longer strings (names, messages) are cut: no symbol or message needs more, and it keeps
// every single-item chunk far below kMaxChunkPayload.
constexpr std::size_t kMaxStringLength = 1u << 20;
constexpr std::size_t kMaxFrames = 1024;

void put_le(std::byte* p, std::uint64_t v, int n) noexcept {
  for (int i = 0; i < n; ++i) {
    p[i] = static_cast<std::byte>(v >> (8 * i));
  }
}

// One chunk under construction at the end of `out`: header placeholder, payload appended
// through at()/advance_to(), then finish() patches the length and CRC. Repeated chunk types
// call split_if_needed() per item so no chunk exceeds kMaxChunkPayload.
class ChunkWriter {
 public:
  ChunkWriter(Bytes& out, ChunkType type, std::size_t payload_hint)
      : out_(out), type_(type), start_(out.size()), pos_(start_ + kChunkHeaderSize) {
    grow(pos_ + payload_hint);
    out_.resize(pos_);
  }
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;
  ChunkWriter(ChunkWriter&&) = delete;
  ChunkWriter& operator=(ChunkWriter&&) = delete;
  ~ChunkWriter() = default;

  // Room for `n` bytes at the cursor; the returned pointer is valid until the next at().
  std::byte* at(std::size_t n) {
    grow(pos_ + n);
    out_.resize(pos_ + n);
    return out_.data() + pos_;
  }
  void advance_to(const std::byte* p) noexcept { pos_ = static_cast<std::size_t>(p - out_.data()); }
  void split_if_needed(std::size_t item_bytes) {
    if (pos_ - start_ - kChunkHeaderSize + item_bytes > kMaxChunkPayload) {
      finish();
      start_ = out_.size();
      pos_ = start_ + kChunkHeaderSize;
    }
  }
  void put_varint(std::uint64_t v) { advance_to(encode_varint(at(kMaxVarint), v)); }
  void put_string(std::string_view s) {
    s = s.substr(0, kMaxStringLength);
    std::byte* p = encode_varint(at(kMaxVarint + s.size()), s.size());
    if (!s.empty()) {
      std::memcpy(p, s.data(), s.size());
    }
    advance_to(p + s.size());
  }
  void finish() {
    out_.resize(pos_);
    std::byte* h = out_.data() + start_;
    const std::size_t length = pos_ - start_ - kChunkHeaderSize;
    assert(length <= kMaxChunkPayload);
    put_le(h, length, 4);
    h[4] = static_cast<std::byte>(type_);
    put_le(h + 5, 0, 3);  // flags, reserved
    put_le(h + 8, chunk_crc({h, kChunkHeaderSize}, {h + kChunkHeaderSize, length}), 4);
  }

 private:
  // Geometric growth keeps many small appends to one vector linear.
  void grow(std::size_t need) {
    if (out_.capacity() < need) {
      out_.reserve(std::max(need, out_.capacity() * 2));
    }
  }

  Bytes& out_;
  ChunkType type_;
  std::size_t start_;
  std::size_t pos_;
};

}  // namespace

void put_varint(Bytes& out, std::uint64_t v) {
  std::array<std::byte, kMaxVarint> buf{};
  std::byte* end = encode_varint(buf.data(), v);
  out.insert(out.end(), buf.data(), end);
}

void append_header(Bytes& out, const FileHeader& h) {
  const std::size_t start = out.size();
  out.resize(start + kHeaderSize);
  std::byte* p = out.data() + start;
  std::memcpy(p, kMagic.data(), kMagic.size());
  put_le(p + 8, kVersion, 2);
  put_le(p + 10, kHeaderSize, 2);
  p[12] = static_cast<std::byte>(h.tick_source);
  put_le(p + 13, 0, 3);
  put_le(p + 16, h.start_unix_ns, 8);
  put_le(p + 24, h.pid, 4);
  put_le(p + 28, crc32c({p, 28}), 4);
}

void append_clock_sync(Bytes& out, std::span<const ClockSync> points) {
  ChunkWriter w(out, ChunkType::kClockSync, points.size() * 2 * kMaxVarint);
  for (const ClockSync& s : points) {
    w.split_if_needed(2 * kMaxVarint);
    w.put_varint(s.ticks);
    w.put_varint(s.monotonic_ns);
  }
  w.finish();
}

void append_thread(Bytes& out, std::uint32_t index, std::uint64_t os_tid, std::string_view name) {
  ChunkWriter w(out, ChunkType::kThread, 3 * kMaxVarint + name.size());
  w.put_varint(index);
  w.put_varint(os_tid);
  w.put_string(name);
  w.finish();
}

void append_strings(Bytes& out,
                    std::span<const std::pair<std::uint64_t, std::string_view>> strings) {
  ChunkWriter w(out, ChunkType::kString, strings.size() * 24);
  for (const auto& [id, text] : strings) {
    w.split_if_needed(2 * kMaxVarint + std::min(text.size(), kMaxStringLength));
    w.put_varint(id);
    w.put_string(text);
  }
  w.finish();
}

void append_locations(Bytes& out, std::span<const Location> locations) {
  ChunkWriter w(out, ChunkType::kLocation, locations.size() * 5 * kMaxVarint);
  for (const Location& loc : locations) {
    w.split_if_needed(5 * kMaxVarint);
    std::byte* p = w.at(5 * kMaxVarint);
    for (const std::uint64_t v : {loc.id, loc.address, loc.function, loc.file, loc.line}) {
      p = encode_varint(p, v);
    }
    w.advance_to(p);
  }
  w.finish();
}

void append_events(Bytes& out, std::uint32_t thread, std::span<const Record> events) {
  EventEncoder encoder(out, thread);
  encoder.add(events);
  encoder.finish();
}

void append_drops(Bytes& out, std::uint32_t thread, std::uint64_t count, std::uint64_t ticks_before,
                  std::uint64_t ticks_after) {
  ChunkWriter w(out, ChunkType::kDrops, 4 * kMaxVarint);
  for (const std::uint64_t v : {std::uint64_t{thread}, count, ticks_before, ticks_after}) {
    w.put_varint(v);
  }
  w.finish();
}

void append_warning(Bytes& out, const WarningRecord& warning) {
  const std::size_t frames = std::min(warning.frames.size(), kMaxFrames);
  ChunkWriter w(out, ChunkType::kWarning,
                (5 + frames) * kMaxVarint + std::min(warning.message.size(), kMaxStringLength));
  w.put_varint(warning.thread);
  w.put_varint(warning.ticks);
  std::byte* kind = w.at(1);
  *kind = static_cast<std::byte>(warning.kind);
  w.advance_to(kind + 1);
  w.put_varint(warning.task);
  w.put_string(warning.message);
  w.put_varint(frames);
  for (std::size_t i = 0; i < frames; ++i) {
    w.put_varint(warning.frames[i]);
  }
  w.finish();
}

namespace {
// A task_name or task_error chunk: thread index, task id, text.
void append_task_text(Bytes& out, ChunkType type, std::uint32_t thread, std::uint64_t task,
                      std::string_view text) {
  ChunkWriter w(out, type, 3 * kMaxVarint + std::min(text.size(), kMaxStringLength));
  w.put_varint(thread);
  w.put_varint(task);
  w.put_string(text);
  w.finish();
}
}  // namespace

void append_task_name(Bytes& out, std::uint32_t thread, std::uint64_t task, std::string_view name) {
  append_task_text(out, ChunkType::kTaskName, thread, task, name);
}

void append_task_error(Bytes& out, std::uint32_t thread, std::uint64_t task,
                       std::string_view message) {
  append_task_text(out, ChunkType::kTaskError, thread, task, message);
}

void append_end(Bytes& out, std::uint64_t written, std::uint64_t dropped) {
  ChunkWriter w(out, ChunkType::kEnd, 2 * kMaxVarint);
  w.put_varint(written);
  w.put_varint(dropped);
  w.finish();
}

}  // namespace loopscope::probes::format
