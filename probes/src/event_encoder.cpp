// EventEncoder: delta-encodes events into `events` chunks, the collector's hot loop.
//
// A byte-at-a-time LEB128 writer branches on every value's length, and tick deltas and task
// deltas are one byte or two at random, so those branches mispredict. Here each varint is
// one unaligned 8-byte store of its value spread to 7 bits per byte (BMI2's pdep where the
// CPU has a fast one, else shifts) with the continuation bits or-ed in, and the cursor moves
// by the length, looked up from the count of leading zero bits. Whether an optional field
// (the task delta, arg, the kind's fields) is there is still a branch: it follows the event
// kind, which the branch predictor learns, where the lengths of values do not. Events go to
// a small stack buffer with room for the overhanging stores and are appended to the chunk a
// batch at a time.
#include <loopscope/probes/trace_format.hpp>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace loopscope::probes::format {

namespace {

constexpr std::size_t kMaxVarint = 10;
// tag + tick delta + task delta (zigzag of a 33-bit difference) + arg + three fields.
constexpr std::size_t kMaxEventBytes = 1 + kMaxVarint + 5 + 3 + 3 * kMaxVarint;
constexpr std::size_t kBatch = 256;
// Bytes of the event count field of an open chunk: enough for kMaxEventsPerChunk.
constexpr std::size_t kCountBytes = 3;
static_assert(kMaxEventsPerChunk < (std::size_t{1} << (7 * kCountBytes)));

// Per count of leading zero bits of a value (0-63; 1 is the smallest value looked up): the
// continuation bits of all its LEB128 bytes but the last, and its length. Two arrays rather
// than one of pairs, so that the count indexes both without a multiplication.
constexpr std::array<std::uint64_t, 64> kContinuation = [] {
  std::array<std::uint64_t, 64> t{};
  for (std::size_t zeros = 0; zeros < t.size(); ++zeros) {
    const std::size_t length = (64 - zeros + 6) / 7;
    t[zeros] = length >= 8 ? 0x0080808080808080ull
                           : 0x8080808080808080ull & ((1ull << (8 * length - 8)) - 1);
  }
  return t;
}();
constexpr std::array<std::uint8_t, 64> kLength = [] {
  std::array<std::uint8_t, 64> t{};
  for (std::size_t zeros = 0; zeros < t.size(); ++zeros) {
    t[zeros] = static_cast<std::uint8_t>((64 - zeros + 6) / 7);
  }
  return t;
}();

// The kind's field count, without the switch a jump table would make of field_count().
constexpr std::array<std::uint8_t, 32> kFieldCount = [] {
  std::array<std::uint8_t, 32> t{};
  for (std::size_t kind = 0; kind < static_cast<std::size_t>(EventKind::kCount); ++kind) {
    t[kind] = static_cast<std::uint8_t>(field_count(static_cast<EventKind>(kind)));
  }
  return t;
}();

// Stores `v` (below 2^56) as a varint at `p` with one 8-byte store; returns its length.
// These helpers are forced inline: as calls they would cost more than they do.
template <bool kBmi2>
[[gnu::always_inline]] inline unsigned store_varint(std::byte* p, std::uint64_t v) noexcept {
  const auto zeros = static_cast<unsigned>(__builtin_clzll(v | 1));
  std::uint64_t x = 0;
#if defined(__x86_64__)
  if constexpr (kBmi2) {
    // Inline assembly instead of _pdep_u64 so that this file needs no -mbmi2: the caller
    // checked the CPU.
    asm("pdepq %2, %1, %0" : "=r"(x) : "r"(v), "r"(0x7f7f7f7f7f7f7f7full));
  }
#endif
  if constexpr (!kBmi2) {
    x = (v & 0x000000000fffffffull) | ((v & 0x00fffffff0000000ull) << 4);
    x = (x & 0x00003fff00003fffull) | ((x & 0x0fffc0000fffc000ull) << 2);
    x = (x & 0x007f007f007f007full) | ((x & 0x3f803f803f803f80ull) << 1);
  }
  x |= kContinuation[zeros];
  std::memcpy(p, &x, 8);
  return kLength[zeros];
}

// A varint of any size; the long ones (task ids far apart, a 64-bit field) are rare.
template <bool kBmi2>
[[gnu::always_inline]] inline std::byte* put(std::byte* p, std::uint64_t v) noexcept {
  if (v >= (std::uint64_t{1} << 56)) [[unlikely]] {
    return encode_varint(p, v);
  }
  return p + store_varint<kBmi2>(p, v);
}

template <bool kBmi2>
[[gnu::always_inline]] inline std::byte* encode_event(std::byte* p, const Record& r,
                                                      std::uint64_t& ticks,
                                                      std::uint32_t& task) noexcept {
  assert(r.kind < EventKind::kCount);
  std::byte* tag_at = p++;
  // Ticks never go backwards within a chunk: an earlier timestamp takes the previous one.
  const std::uint64_t delta = r.ticks > ticks ? r.ticks - ticks : 0;
  ticks += delta;
  p = put<kBmi2>(p, delta);
  const bool moved = r.task != 0 && r.task != task;
  const unsigned mode = r.task == 0 ? 2 : (moved ? 1 : 0);
  if (moved) {
    p += store_varint<kBmi2>(
        p, zigzag_encode(static_cast<std::int64_t>(r.task) - static_cast<std::int64_t>(task)));
    task = r.task;
  }
  if (r.arg != 0) {
    p += store_varint<kBmi2>(p, r.arg);
  }
  const unsigned fields = kFieldCount[static_cast<unsigned>(r.kind) & 31];
  if (fields > 0) {
    p = put<kBmi2>(p, r.f[0]);
  }
  if (fields > 1) [[unlikely]] {
    for (unsigned k = 1; k < fields; ++k) {
      p = put<kBmi2>(p, r.f[k]);
    }
  }
  *tag_at =
      static_cast<std::byte>(static_cast<unsigned>(r.kind) | mode << 6 | (r.arg != 0 ? 0x20 : 0));
  return p;
}

template <bool kBmi2>
std::byte* encode_batch(std::byte* p, std::span<const Record> events, std::uint64_t& ticks,
                        std::uint32_t& task) noexcept {
  // In locals: stores through std::byte* may alias anything, so the compiler would write
  // references back to memory after every event.
  std::uint64_t t = ticks;
  std::uint32_t k = task;
  for (const Record& r : events) {
    p = encode_event<kBmi2>(p, r, t, k);
  }
  ticks = t;
  task = k;
  return p;
}

void put_le(std::byte* p, std::uint64_t v, int n) noexcept {
  for (int i = 0; i < n; ++i) {
    p[i] = static_cast<std::byte>(v >> (8 * i));
  }
}

}  // namespace

void EventEncoder::open(std::uint64_t base_ticks) {
  // Header placeholder, thread, room for the count, base ticks.
  std::array<std::byte, kChunkHeaderSize + kMaxVarint + kCountBytes + kMaxVarint> head{};
  std::byte* p = encode_varint(head.data() + kChunkHeaderSize, thread_);
  count_at_ = static_cast<std::size_t>(p - head.data());
  p = encode_varint(p + kCountBytes, base_ticks);
  start_ = out_.size();
  out_.insert(out_.end(), head.data(), p);
  open_ = true;
  count_ = 0;
  ticks_ = base_ticks;
  task_ = 0;
}

void EventEncoder::add(std::span<const Record> events) {
  // One batch of encoded events, plus room for the last 8-byte store to overhang.
  std::array<std::byte, kBatch * kMaxEventBytes + 8> buffer;  // NOLINT: written before read
  while (!events.empty()) {
    if (open_ && count_ == kMaxEventsPerChunk) {
      finish();
    }
    if (!open_) {
      open(events.front().ticks);
    }
    const std::size_t n = std::min({events.size(), kBatch, kMaxEventsPerChunk - count_});
    std::byte* end = detail::event_codec_bmi2()
                         ? encode_batch<true>(buffer.data(), events.first(n), ticks_, task_)
                         : encode_batch<false>(buffer.data(), events.first(n), ticks_, task_);
    out_.insert(out_.end(), buffer.data(), end);
    count_ += n;
    events = events.subspan(n);
  }
}

void EventEncoder::finish() {
  if (!open_) {
    return;
  }
  open_ = false;
  // The count went into a field of kCountBytes; a shorter varint moves the rest down.
  std::array<std::byte, kMaxVarint> count{};
  const auto length = static_cast<std::size_t>(encode_varint(count.data(), count_) - count.data());
  std::byte* field = out_.data() + start_ + count_at_;
  if (length < kCountBytes) {
    std::memmove(field + length, field + kCountBytes,
                 out_.size() - (start_ + count_at_ + kCountBytes));
    out_.resize(out_.size() - (kCountBytes - length));
    field = out_.data() + start_ + count_at_;
  }
  std::memcpy(field, count.data(), length);
  std::byte* h = out_.data() + start_;
  const std::size_t payload = out_.size() - start_ - kChunkHeaderSize;
  assert(payload <= kMaxChunkPayload);
  put_le(h, payload, 4);
  h[4] = static_cast<std::byte>(ChunkType::kEvents);
  put_le(h + 5, 0, 3);  // flags, reserved
  put_le(h + 8, chunk_crc({h, kChunkHeaderSize}, {h + kChunkHeaderSize, payload}), 4);
}

}  // namespace loopscope::probes::format
