// EventDecoder: the decoder of `events` chunks, the hot loop of every trace reader.
//
// Most events are a tag byte and two to four varints of one or two bytes. A byte-at-a-time
// LEB128 decoder spends most of its time in mispredicted branches (is this varint one byte
// or two?) and in the serial dependency of each varint's position on the previous one's
// length. The fast path here looks at the 16 bytes after the tag at once: one movemask gives
// the bit set of bytes that end a varint, so every field's position and length follow from
// that mask with bit operations, and each field is one unaligned 8-byte load, masked to its
// length and compacted (with BMI2's pext where the CPU has a fast one). Branches remain only
// where the tag decides what follows, which the kind sequence makes predictable.
//
// The fast path only runs while at least kFastMargin bytes remain, so its loads never leave
// the payload, and it validates everything the checked decoder does; any event it does not
// like (an error, a varint longer than 8 bytes, an event longer than its window) it leaves
// untouched for decode_checked(), the plain bounds-checked decoder, which throws the exact
// error.
#include <loopscope/probes/trace_format.hpp>

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace loopscope::probes::format {

namespace {

// The fast path reads the tag, a 16-byte window after it and 8-byte loads at varint starts
// up to 23 bytes into the window (past its end only through the sentinel stops, for events
// it then rejects): 32 bytes from the event's start cover them all.
constexpr std::ptrdiff_t kFastMargin = 32;
// An event the fast path accepts ends inside its window.
constexpr std::ptrdiff_t kFastMaxEvent = 17;

constexpr bool every_kind_has_at_most_three_fields() {
  for (unsigned kind = 0; kind < static_cast<unsigned>(EventKind::kCount); ++kind) {
    if (field_count(static_cast<EventKind>(kind)) > 3) {
      return false;
    }
  }
  return true;
}
static_assert(every_kind_has_at_most_three_fields(), "kTagInfo and Record hold three fields");

// Per tag byte: what follows it (0 for a tag that is corruption: an unknown kind, task
// mode 3).
constexpr unsigned kValid = 1, kTaskDelta = 2, kNoTask = 4, kArg = 8, kFieldShift = 4;
constexpr std::array<std::uint8_t, 256> kTagInfo = [] {
  std::array<std::uint8_t, 256> t{};
  for (unsigned tag = 0; tag < t.size(); ++tag) {
    const unsigned kind = tag & 0x1f;
    const unsigned mode = tag >> 6;
    if (kind >= static_cast<unsigned>(EventKind::kCount) || mode == 3) {
      continue;
    }
    const auto fields = static_cast<unsigned>(field_count(static_cast<EventKind>(kind)));
    t[tag] = static_cast<std::uint8_t>(kValid | (mode == 1 ? kTaskDelta : 0) |
                                       (mode == 2 ? kNoTask : 0) | ((tag & 0x20) != 0 ? kArg : 0) |
                                       fields << kFieldShift);
  }
  return t;
}();

std::uint64_t load8(const std::byte* p) noexcept {
  std::uint64_t w = 0;
  std::memcpy(&w, p, 8);  // little-endian hosts, like the rest of the format code
  return w;
}

// Bit i set when byte i of the 16 bytes at `p` has its high bit clear (ends a varint).
std::uint32_t varint_ends(const std::byte* p) noexcept {
#if defined(__x86_64__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return static_cast<std::uint32_t>(_mm_movemask_epi8(v)) ^ 0xffffu;
#else
  const auto gather = [](std::uint64_t w) {
    return static_cast<std::uint32_t>(
        (((~w & 0x8080808080808080ull) >> 7) * 0x0102040810204080ull) >> 56);
  };
  return gather(load8(p)) | gather(load8(p + 8)) << 8;
#endif
}

// The value of the varint of length `extra` + 1 (at most 8) in the low bytes of `w`.
template <bool kPext>
std::uint64_t pack7(std::uint64_t w, std::uint64_t extra) noexcept {
#if defined(__x86_64__)
  if constexpr (kPext) {
    // Inline assembly instead of _bzhi_u64/_pext_u64 so that this file needs no -mbmi2: the
    // caller checked the CPU.
    std::uint64_t r = 0;
    asm("bzhiq %2, %1, %0" : "=r"(r) : "r"(w), "r"(std::uint64_t{8} * extra + 8));
    asm("pextq %2, %1, %0" : "=r"(r) : "r"(r), "r"(0x7f7f7f7f7f7f7f7full));
    return r;
  }
#endif
  w &= ~std::uint64_t{0} >> (56 - 8 * (extra & 7));
  w = (w & 0x007f007f007f007full) | ((w & 0x7f007f007f007f00ull) >> 1);
  w = (w & 0x00003fff00003fffull) | ((w & 0x3fff00003fff0000ull) >> 2);
  return (w & 0x000000000fffffffull) | ((w & 0x0fffffff00000000ull) >> 4);
}

// Walks the varints of one event's window. Positions and lengths are 64-bit so that the
// address arithmetic needs no extensions.
class Window {
 public:
  explicit Window(const std::byte* p) noexcept
      : base_(p), ends_(varint_ends(p) | 0xff0000u) {}  // sentinels: no bit scan of 0

  template <bool kPext>
  std::uint64_t take() noexcept {
    const auto end = static_cast<std::uint64_t>(__builtin_ctzll(ends_));
    ends_ &= ends_ - 1;
    const std::uint64_t extra = end - start_;  // length - 1
    long_ |= extra;
    const std::uint64_t w = load8(base_ + start_);
    start_ = end + 1;
    return pack7<kPext>(w, extra);
  }
  // Bytes used; valid when ok().
  [[nodiscard]] std::uint64_t used() const noexcept { return start_; }
  // Every varint ended inside the window and none was longer than 8 bytes.
  [[nodiscard]] bool ok() const noexcept { return start_ <= 16 && long_ < 8; }

 private:
  const std::byte* base_;
  std::uint64_t ends_;
  std::uint64_t start_ = 0;
  std::uint64_t long_ = 0;
};

// Decodes the event at `p` into `r` and advances, or returns false and changes nothing
// but `r`. Each check leaves as soon as it can, which keeps few values alive at once.
template <bool kPext>
bool decode_fast(const std::byte*& p, std::uint64_t& ticks, std::uint32_t& task,
                 Record& r) noexcept {
  const auto tag = static_cast<unsigned>(p[0]);
  const unsigned info = kTagInfo[tag];
  if ((info & kValid) == 0) [[unlikely]] {
    return false;
  }
  Window w(p + 1);
  const std::uint64_t t = ticks + w.take<kPext>();
  if (t < ticks) [[unlikely]] {
    return false;  // the sum overflowed
  }
  std::uint32_t next_task = task;
  if ((info & kTaskDelta) != 0) {
    const std::int64_t next = static_cast<std::int64_t>(task) + zigzag_decode(w.take<kPext>());
    if (static_cast<std::uint64_t>(next) > UINT32_MAX) [[unlikely]] {
      return false;
    }
    next_task = static_cast<std::uint32_t>(next);
  }
  std::uint64_t arg = 0;
  if ((info & kArg) != 0) {
    arg = w.take<kPext>();
    if (arg > UINT16_MAX) [[unlikely]] {
      return false;
    }
  }
  const unsigned fields = info >> kFieldShift;
  r.f[0] = fields != 0 ? w.take<kPext>() : 0;
  r.f[1] = r.f[2] = 0;
  if (fields >= 2) [[unlikely]] {
    r.f[1] = w.take<kPext>();
    r.f[2] = fields == 3 ? w.take<kPext>() : 0;
  }
  if (!w.ok()) [[unlikely]] {
    return false;
  }
  r.ticks = t;
  r.kind = static_cast<EventKind>(tag & 0x1f);
  r.task = (info & kNoTask) != 0 ? 0 : next_task;
  r.arg = static_cast<std::uint16_t>(arg);
  ticks = t;
  task = next_task;
  p += 1 + w.used();
  return true;
}

struct FastState {
  const std::byte* cur;
  const std::byte* end;
  std::uint64_t ticks;
  std::uint32_t task;
};

// Decodes events [i, n) while the fast path may; returns the index it stopped at.
template <bool kPext>
std::size_t decode_run(FastState& s, Record* out, std::size_t i, std::size_t n) noexcept {
  const std::byte* p = s.cur;
  std::uint64_t ticks = s.ticks;
  std::uint32_t task = s.task;
  Record* r = out + i;
  Record* const last = out + n;
  while (r != last && s.end - p >= kFastMargin) {
    // Events the margin covers without a check each: each takes at most kFastMaxEvent bytes.
    const auto safe = (s.end - p - kFastMargin) / kFastMaxEvent + 1;
    Record* const stop = last - r > safe ? r + safe : last;
    while (r != stop && decode_fast<kPext>(p, ticks, task, *r)) {
      ++r;
    }
    if (r != stop) {
      break;  // an event for the checked decoder
    }
  }
  s = FastState{p, s.end, ticks, task};
  return static_cast<std::size_t>(r - out);
}

// pdep and pext are one fast instruction on Intel since Haswell and AMD since Zen 3; older
// AMD cores microcode them (tens to hundreds of cycles), slower than the portable shifts.
bool fast_bmi2() noexcept {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2") && !__builtin_cpu_is("amdfam15h") &&
         !__builtin_cpu_is("amdfam17h");
#else
  return false;
#endif
}

bool& bmi2_flag() noexcept {
  static bool enabled = fast_bmi2();
  return enabled;
}

}  // namespace

namespace detail {
bool event_codec_bmi2() noexcept {
  return bmi2_flag();
}
void set_event_codec_bmi2(bool enabled) noexcept {
  bmi2_flag() = enabled && fast_bmi2();
}
}  // namespace detail

EventDecoder::EventDecoder(std::span<const std::byte> payload)
    : begin_(payload.data()), cur_(payload.data()), end_(payload.data() + payload.size()) {
  ByteReader in(payload);
  thread_ = static_cast<std::uint32_t>(in.varint_max(UINT32_MAX, "thread index"));
  count_ = in.varint();
  // Every event takes at least two bytes (tag, tick delta).
  if (count_ > in.remaining() / 2) {
    in.fail("event count " + std::to_string(count_) + " exceeds what the payload can hold");
  }
  ticks_ = base_ticks_ = in.varint();
  left_ = count_;
  cur_ += in.offset();
}

std::size_t EventDecoder::next(std::span<Record> out) {
  if (left_ == 0) {
    if (cur_ != end_) {
      ByteReader in({begin_, end_});
      (void)in.bytes(static_cast<std::size_t>(cur_ - begin_));
      in.fail(std::to_string(in.remaining()) + " bytes left after the last event");
    }
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left_));
  std::size_t i = 0;
  while (i < n) {
    FastState s{cur_, end_, ticks_, task_};
    i = detail::event_codec_bmi2() ? decode_run<true>(s, out.data(), i, n)
                                   : decode_run<false>(s, out.data(), i, n);
    cur_ = s.cur;
    ticks_ = s.ticks;
    task_ = s.task;
    if (i == n) {
      break;
    }
    if (i == 0) {
      decode_checked(out[i]);
    } else {
      // Hand over what decoded before an event that may throw; the next call throws.
      try {
        decode_checked(out[i]);
      } catch (const FormatError&) {
        break;
      }
    }
    ++i;
  }
  left_ -= i;
  return i;
}

// One event, every read bounds-checked; commits the decoder's state only on success.
void EventDecoder::decode_checked(Record& r) {
  ByteReader in({begin_, end_});
  (void)in.bytes(static_cast<std::size_t>(cur_ - begin_));
  const auto tag = in.u8();
  const auto kind = static_cast<std::uint8_t>(tag & 0x1f);
  if (kind >= static_cast<std::uint8_t>(EventKind::kCount)) [[unlikely]] {
    in.fail("unknown event kind " + std::to_string(kind));
  }
  r.kind = static_cast<EventKind>(kind);
  std::uint64_t ticks = 0;
  if (__builtin_add_overflow(ticks_, in.varint(), &ticks)) [[unlikely]] {
    in.fail("tick delta overflows");
  }
  r.ticks = ticks;
  std::uint32_t task = task_;
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
  cur_ = begin_ + in.offset();
  ticks_ = ticks;
  task_ = task;
}

}  // namespace loopscope::probes::format
