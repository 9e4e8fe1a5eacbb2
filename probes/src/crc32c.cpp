// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every trace chunk.
//
// Two implementations: the SSE4.2 crc32 instruction (8 bytes per instruction, three streams
// at once), chosen at run time when the CPU has it, and a portable slicing-by-8 table
// version. The collector
// checksums every byte it writes, so this sits on the tracing path's hot side.
#include <loopscope/probes/trace_format.hpp>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace loopscope::probes::format {

namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? (c >> 1) ^ kPolynomial : c >> 1;
    }
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) {
      t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
  return t;
}

constexpr Tables kTables = make_tables();

// `crc` here is the raw register (not inverted).
std::uint32_t update_portable(std::uint32_t crc, const std::byte* p, std::size_t n) noexcept {
  while (n >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);  // little-endian hosts only, like the rest of the format code
    word ^= crc;
    crc = kTables[7][word & 0xff] ^ kTables[6][(word >> 8) & 0xff] ^
          kTables[5][(word >> 16) & 0xff] ^ kTables[4][(word >> 24) & 0xff] ^
          kTables[3][(word >> 32) & 0xff] ^ kTables[2][(word >> 40) & 0xff] ^
          kTables[1][(word >> 48) & 0xff] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) {
    crc = (crc >> 8) ^ kTables[0][(crc ^ static_cast<std::uint8_t>(*p++)) & 0xff];
  }
  return crc;
}

// Shifting a CRC past zero bytes is linear over GF(2): a 32x32 bit matrix, kept as the
// images of the 32 unit vectors. It is what lets three independent CRCs be joined.
using Operator = std::array<std::uint32_t, 32>;

constexpr std::uint32_t apply(const Operator& op, std::uint32_t v) {
  std::uint32_t r = 0;
  for (int i = 0; v != 0; ++i, v >>= 1) {
    r ^= (v & 1) != 0 ? op[static_cast<std::size_t>(i)] : 0;
  }
  return r;
}

// The register after `bytes` zero bytes, for every register value: as four byte tables.
using ShiftTables = std::array<std::array<std::uint32_t, 256>, 4>;

constexpr ShiftTables make_shift_tables(std::size_t bytes) {
  Operator op{};  // one zero byte: eight steps of the bitwise CRC
  for (std::size_t i = 0; i < 32; ++i) {
    std::uint32_t c = 1u << i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? (c >> 1) ^ kPolynomial : c >> 1;
    }
    op[i] = c;
  }
  Operator result{};
  for (std::size_t i = 0; i < 32; ++i) {
    result[i] = 1u << i;
  }
  for (; bytes != 0; bytes >>= 1) {  // square-and-multiply on the operator
    if ((bytes & 1) != 0) {
      Operator next{};
      for (std::size_t i = 0; i < 32; ++i) {
        next[i] = apply(op, result[i]);
      }
      result = next;
    }
    Operator squared{};
    for (std::size_t i = 0; i < 32; ++i) {
      squared[i] = apply(op, op[i]);
    }
    op = squared;
  }
  ShiftTables t{};
  for (std::size_t j = 0; j < 4; ++j) {
    for (std::uint32_t b = 0; b < 256; ++b) {
      t[j][b] = apply(result, b << (8 * j));
    }
  }
  return t;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of one: three
// independent streams keep it busy. Each round checksums three adjacent blocks at once and
// joins them by shifting the running CRC past the next block (Mark Adler's crc32c.c does the
// same).
constexpr std::size_t kLongBlock = 8192;
constexpr std::size_t kShortBlock = 256;
constexpr ShiftTables kShiftLong = make_shift_tables(kLongBlock);
constexpr ShiftTables kShiftShort = make_shift_tables(kShortBlock);

std::uint32_t shift(const ShiftTables& t, std::uint32_t crc) noexcept {
  return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

std::uint64_t load8(const std::byte* p) noexcept {
  std::uint64_t word = 0;
  std::memcpy(&word, p, 8);
  return word;
}

template <std::size_t kBlock>
__attribute__((target("sse4.2"))) std::uint32_t update_three_ways(std::uint32_t crc,
                                                                  const std::byte*& p,
                                                                  std::size_t& n,
                                                                  const ShiftTables& join) {
  while (n >= 3 * kBlock) {
    std::uint64_t c0 = crc;
    std::uint64_t c1 = 0;
    std::uint64_t c2 = 0;
    for (const std::byte* end = p + kBlock; p < end; p += 8) {
      c0 = _mm_crc32_u64(c0, load8(p));
      c1 = _mm_crc32_u64(c1, load8(p + kBlock));
      c2 = _mm_crc32_u64(c2, load8(p + 2 * kBlock));
    }
    crc = shift(join, static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c1);
    crc = shift(join, crc) ^ static_cast<std::uint32_t>(c2);
    p += 2 * kBlock;
    n -= 3 * kBlock;
  }
  return crc;
}

__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t crc, const std::byte* p,
                                                             std::size_t n) noexcept {
  crc = update_three_ways<kLongBlock>(crc, p, n, kShiftLong);
  crc = update_three_ways<kShortBlock>(crc, p, n, kShiftShort);
  std::uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    c = _mm_crc32_u64(c, load8(p));
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) {
    c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p++));
  }
  return c32;
}

bool has_sse42() noexcept {
  static const bool has = __builtin_cpu_supports("sse4.2") != 0;
  return has;
}
#endif

std::uint32_t update(std::uint32_t crc, const std::byte* p, std::size_t n) noexcept {
#if defined(__x86_64__)
  if (has_sse42()) {
    return update_sse42(crc, p, n);
  }
#endif
  return update_portable(crc, p, n);
}

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> data) noexcept {
  return ~update(~crc, data.data(), data.size());
}

std::uint32_t crc32c(std::span<const std::byte> data) noexcept {
  return crc32c_extend(0, data);
}

std::uint32_t chunk_crc(std::span<const std::byte> header,
                        std::span<const std::byte> payload) noexcept {
  return crc32c_extend(crc32c(header.first(8)), payload);
}

namespace detail {
// For tests: the portable path, whatever the CPU has.
std::uint32_t crc32c_portable(std::span<const std::byte> data) noexcept {
  return ~update_portable(~0u, data.data(), data.size());
}
}  // namespace detail

}  // namespace loopscope::probes::format
