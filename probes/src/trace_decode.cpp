// The trace decoder's out-of-line parts: ByteReader's slow paths, the file and chunk headers,
// and the small chunk types. decode_events, on the hot path, is inline in the header.
#include <loopscope/probes/trace_format.hpp>

#include <cstring>

namespace loopscope::probes::format {

namespace {

std::uint64_t get_le(const std::byte* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  }
  return v;
}

void expect_end(const ByteReader& in) {
  if (!in.empty()) {
    in.fail(std::to_string(in.remaining()) + " unexpected bytes at the end of the payload");
  }
}

}  // namespace

void ByteReader::fail(const std::string& message) const {
  throw FormatError(offset(), message);
}

std::uint64_t ByteReader::fixed(int n) {
  if (remaining() < static_cast<std::size_t>(n)) {
    fail("unexpected end of data");
  }
  const std::uint64_t v = get_le(cur_, n);
  cur_ += n;
  return v;
}

std::uint64_t ByteReader::varint_slow() {
  std::uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (cur_ == end_) {
      fail("unexpected end of data inside a varint");
    }
    const auto b = static_cast<std::uint8_t>(*cur_);
    // The tenth byte holds bit 63 only.
    if (i == 9 && b > 1) {
      fail("varint overflows 64 bits");
    }
    ++cur_;
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      return v;
    }
  }
  fail("varint longer than 10 bytes");
}

void ByteReader::out_of_range(std::uint64_t value, const char* field) const {
  fail(std::string(field) + " " + std::to_string(value) + " out of range");
}

std::string_view ByteReader::string() {
  const std::uint64_t length = varint();
  if (length > remaining()) {
    fail("string of " + std::to_string(length) + " bytes runs past the end of the data");
  }
  const auto* p = reinterpret_cast<const char*>(cur_);
  cur_ += length;
  return {p, static_cast<std::size_t>(length)};
}

std::span<const std::byte> ByteReader::bytes(std::size_t n) {
  if (n > remaining()) {
    fail("unexpected end of data");
  }
  const std::span<const std::byte> s(cur_, n);
  cur_ += n;
  return s;
}

FileHeader decode_header(std::span<const std::byte> data, std::uint32_t& header_size) {
  if (data.size() < kHeaderSize) {
    throw FormatError(0, "file too short for a trace header (" + std::to_string(data.size()) +
                             " of " + std::to_string(kHeaderSize) + " bytes)");
  }
  if (std::memcmp(data.data(), kMagic.data(), kMagic.size()) != 0) {
    throw FormatError(0, "not a loopscope trace (bad magic)");
  }
  ByteReader in(data.first(kHeaderSize));
  (void)in.bytes(kMagic.size());
  const std::uint16_t version = in.u16();
  if (version < kOldestVersion || version > kVersion) {
    throw FormatError(8, "unsupported trace format version " + std::to_string(version) +
                             " (this reader reads versions " + std::to_string(kOldestVersion) +
                             " to " + std::to_string(kVersion) + ")");
  }
  header_size = in.u16();
  const std::uint8_t source = in.u8();
  const std::uint64_t reserved = get_le(data.data() + 13, 3);
  in.bytes(3);
  FileHeader h{};
  h.start_unix_ns = in.u64();
  h.pid = in.u32();
  const std::uint32_t stored = in.u32();
  const std::uint32_t computed = crc32c(data.first(28));
  if (stored != computed) {
    throw FormatError(28, "header checksum mismatch");
  }
  if (header_size < kHeaderSize) {
    throw FormatError(10, "header size " + std::to_string(header_size) + " is below 32");
  }
  if (source > static_cast<std::uint8_t>(TickSource::kMonotonicNs) || reserved != 0) {
    throw FormatError(12, "invalid tick source or reserved header bytes");
  }
  h.tick_source = static_cast<TickSource>(source);
  return h;
}

ChunkHeader decode_chunk_header(std::span<const std::byte, kChunkHeaderSize> data) noexcept {
  return ChunkHeader{static_cast<std::uint32_t>(get_le(data.data(), 4)),
                     static_cast<std::uint8_t>(data[4]), static_cast<std::uint8_t>(data[5]),
                     static_cast<std::uint16_t>(get_le(data.data() + 6, 2)),
                     static_cast<std::uint32_t>(get_le(data.data() + 8, 4))};
}

void decode_clock_sync(std::span<const std::byte> payload, std::vector<ClockSync>& out) {
  ByteReader in(payload);
  out.clear();
  while (!in.empty()) {
    ClockSync s{};
    s.ticks = in.varint();
    s.monotonic_ns = in.varint();
    out.push_back(s);
  }
}

ThreadInfo decode_thread(std::span<const std::byte> payload) {
  ByteReader in(payload);
  ThreadInfo t{};
  t.index = static_cast<std::uint32_t>(in.varint_max(UINT32_MAX, "thread index"));
  t.os_tid = in.varint();
  t.name = in.string();
  expect_end(in);
  return t;
}

Drops decode_drops(std::span<const std::byte> payload) {
  ByteReader in(payload);
  Drops d{};
  d.thread = static_cast<std::uint32_t>(in.varint_max(UINT32_MAX, "thread index"));
  d.count = in.varint();
  d.ticks_before = in.varint();
  d.ticks_after = in.varint();
  expect_end(in);
  return d;
}

void decode_warning(std::span<const std::byte> payload, WarningRecord& out) {
  ByteReader in(payload);
  out.thread = static_cast<std::uint32_t>(in.varint_max(UINT32_MAX, "thread index"));
  out.ticks = in.varint();
  out.kind = in.u8();
  out.task = in.varint();
  out.message = in.string();
  const std::uint64_t frames = in.varint();
  if (frames > in.remaining()) {
    in.fail("frame count " + std::to_string(frames) + " exceeds what the payload can hold");
  }
  out.frames.clear();
  out.frames.reserve(frames);
  for (std::uint64_t i = 0; i < frames; ++i) {
    out.frames.push_back(in.varint());
  }
  expect_end(in);
}

TaskName decode_task_name(std::span<const std::byte> payload) {
  ByteReader in(payload);
  TaskName t{};
  t.thread = static_cast<std::uint32_t>(in.varint_max(UINT32_MAX, "thread index"));
  t.task = in.varint();
  t.name = in.string();
  expect_end(in);
  return t;
}

TaskError decode_task_error(std::span<const std::byte> payload) {
  const TaskName text = decode_task_name(payload);  // the same fields
  return TaskError{text.thread, text.task, text.name};
}

EndInfo decode_end(std::span<const std::byte> payload) {
  ByteReader in(payload);
  EndInfo e{};
  e.written = in.varint();
  e.dropped = in.varint();
  expect_end(in);
  return e;
}

}  // namespace loopscope::probes::format
