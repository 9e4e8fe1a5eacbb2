// ProtoWriter: just enough of the protobuf wire format to write Perfetto traces without the
// protobuf library or the Perfetto SDK: varint, fixed64 and length-delimited fields, and
// nested messages (https://protobuf.dev/programming-guides/encoding/).
//
// A nested message gets one byte for its length up front; if it ends up 128 bytes or longer
// its contents move up to make room for the longer varint. Most messages here (track events)
// are shorter, so they are written once, in place, and the encoding stays canonical.
// InlinePacket is the hot path's shortcut for packets known to be small.
#pragma once

#include "out_buffer.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace loopscope::viewer::detail {

// A small packet written straight into the output (a step's begin or end: a few dozen
// bytes): one capacity check for the whole of it, and a one-byte length for it and each
// message nested in it. The caller keeps the packet under kMax bytes.
class InlinePacket {
 public:
  static constexpr std::size_t kMax = 127;

  InlinePacket(OutBuffer& out, std::uint32_t field) : out_(out) {
    start_ = p_ = out.reserve(kMax + 12);
    begin(field);
  }
  void varint(std::uint32_t field, std::uint64_t v) noexcept {
    p_ = put(put(p_, (std::uint64_t{field} << 3) | 0), v);
  }
  void fixed64(std::uint32_t field, std::uint64_t v) noexcept {
    p_ = put(p_, (std::uint64_t{field} << 3) | 1);
    for (int i = 0; i < 8; ++i) {
      *p_++ = static_cast<char>(v >> (8 * i));
    }
  }
  void bytes(std::uint32_t field, std::string_view s) noexcept {
    p_ = put(put(p_, (std::uint64_t{field} << 3) | 2), s.size());
    for (const char c : s) {
      *p_++ = c;
    }
  }
  void begin(std::uint32_t field) noexcept {
    p_ = put(p_, (std::uint64_t{field} << 3) | 2);
    open_[depth_++] = p_++;
  }
  void end() noexcept {
    char* length = open_[--depth_];
    *length = static_cast<char>(p_ - length - 1);
  }
  // Closes the packet and hands it to the output.
  void finish() noexcept {
    end();
    out_.commit(static_cast<std::size_t>(p_ - start_));
  }

 private:
  static char* put(char* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
      *p++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
  }

  OutBuffer& out_;
  char* start_;
  char* p_;
  std::array<char*, 4> open_{};
  int depth_ = 0;
};

class ProtoWriter {
 public:
  explicit ProtoWriter(OutBuffer& out) : out_(out) {}

  void varint(std::uint32_t field, std::uint64_t v) {
    char* p = out_.reserve(20);
    char* q = put_varint(put_varint(p, tag(field, 0)), v);
    out_.commit(static_cast<std::size_t>(q - p));
  }
  void fixed64(std::uint32_t field, std::uint64_t v) {
    char* p = out_.reserve(18);
    char* q = put_varint(p, tag(field, 1));
    for (int i = 0; i < 8; ++i) {
      *q++ = static_cast<char>(v >> (8 * i));
    }
    out_.commit(static_cast<std::size_t>(q - p));
  }
  void bytes(std::uint32_t field, std::string_view s) {
    char* p = out_.reserve(20 + s.size());
    char* q = put_varint(put_varint(p, tag(field, 2)), s.size());
    std::memcpy(q, s.data(), s.size());
    out_.commit(static_cast<std::size_t>(q - p) + s.size());
  }
  // Opens a nested message in `field`; returns the mark to close it with.
  std::size_t begin(std::uint32_t field) {
    char* p = out_.reserve(11);
    char* q = put_varint(p, tag(field, 2));
    out_.commit(static_cast<std::size_t>(q - p) + 1);
    return out_.size() - 1;  // the length byte
  }
  void end(std::size_t mark) {
    const std::size_t length = out_.size() - mark - 1;
    if (length < 0x80) [[likely]] {
      out_.data()[mark] = static_cast<char>(length);
      return;
    }
    end_long(mark, length);
  }

  static char* put_varint(char* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
      *p++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
  }
  static constexpr std::uint64_t tag(std::uint32_t field, std::uint32_t wire) noexcept {
    return (std::uint64_t{field} << 3) | wire;
  }

 private:
  // A message of 128 bytes or more: its contents move up to make room for the length.
  void end_long(std::size_t mark, std::size_t length) {
    std::array<char, 10> v{};
    const auto n = static_cast<std::size_t>(put_varint(v.data(), length) - v.data());
    out_.reserve(n - 1);
    char* base = out_.data() + mark;
    std::memmove(base + n, base + 1, length);
    std::memcpy(base, v.data(), n);
    out_.commit(n - 1);
  }

  OutBuffer& out_;
};

}  // namespace loopscope::viewer::detail
