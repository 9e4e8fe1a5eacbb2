// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every trace chunk.
//
// Two implementations: the SSE4.2 crc32 instruction (8 bytes per instruction), chosen at run
// time when the CPU has it, and a portable slicing-by-8 table version. The collector
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

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t crc, const std::byte* p,
                                                             std::size_t n) noexcept {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
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
