// Small pieces of JSON text for the streaming exporters (which write JSON by hand, item by
// item, instead of building a document): string escaping and fixed-point microseconds.
#pragma once

#include "out_buffer.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace loopscope::viewer::detail {

// `text` as a JSON string literal, quotes included. Control characters are escaped; bytes
// that are not valid UTF-8 become U+FFFD, so a corrupt symbol cannot break the document.
std::string json_string(std::string_view text);

// Nanoseconds as microseconds with three decimals ("1234.567"), exact: no floating point.
inline void append_us(OutBuffer& out, std::uint64_t ns) {
  out.append_u64(ns / 1000);
  const auto frac = static_cast<unsigned>(ns % 1000);
  char* p = out.reserve(4);
  p[0] = '.';
  p[1] = static_cast<char>('0' + frac / 100);
  p[2] = static_cast<char>('0' + frac / 10 % 10);
  p[3] = static_cast<char>('0' + frac % 10);
  out.commit(4);
}

}  // namespace loopscope::viewer::detail
