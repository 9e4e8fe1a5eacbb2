#include "json_text.hpp"

#include <array>
#include <cstdio>

namespace loopscope::viewer::detail {

namespace {

// The length of the valid UTF-8 sequence at the start of `s`, 0 if it is not one.
std::size_t utf8_length(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (b0 < 0x80) {
    return 1;
  }
  if ((b0 & 0xe0) == 0xc0) {
    n = 2;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) {
    return 0;
  }
  std::uint32_t cp = b0 & (0x7f >> n);
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
  return cp < min || cp > 0x10ffff || surrogate ? 0 : n;
}

}  // namespace

std::string json_string(std::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const char c = text[0];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", u);
      out += buf.data();
    } else if (u >= 0x80) {
      const std::size_t n = utf8_length(text);
      if (n == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD
        text.remove_prefix(1);
        continue;
      }
      out.append(text.substr(0, n));
      text.remove_prefix(n);
      continue;
    } else {
      out += c;
    }
    text.remove_prefix(1);
  }
  out += '"';
  return out;
}

}  // namespace loopscope::viewer::detail
