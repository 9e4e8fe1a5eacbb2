// Formatting helpers the terminal renderings share (report, diff): ANSI styles that switch
// off when colours are off, printf-style formatting, human durations and counts, and
// demangled names shortened for a terminal.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace loopscope::viewer::detail {

struct Style {
  bool on = false;
  [[nodiscard]] std::string wrap(std::string_view code, std::string_view text) const;
  [[nodiscard]] std::string bold(std::string_view t) const { return wrap("1", t); }
  [[nodiscard]] std::string dim(std::string_view t) const { return wrap("2", t); }
  [[nodiscard]] std::string warn(std::string_view t) const { return wrap("33", t); }
  [[nodiscard]] std::string bad(std::string_view t) const { return wrap("31", t); }
  [[nodiscard]] std::string good(std::string_view t) const { return wrap("32", t); }
};

// snprintf into a std::string; output longer than 511 bytes is cut.
template <class... Args>
std::string format(const char* fmt, Args... args) {
  std::array<char, 512> buf{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): the one place formatting goes through
  const int n = std::snprintf(buf.data(), buf.size(), fmt, args...);
  const std::size_t len = n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), 511);
  return {buf.data(), len};
}

std::string duration(std::uint64_t ns);  // "1.50 ms"
std::string count(std::uint64_t n);      // "1,234,567"
std::string wall_clock(std::uint64_t unix_ns);
// A demangled signature shortened for a terminal: no " [with T = ...]", no parameter list,
// no return type. "(anonymous namespace)::fetch(fetch(std::string)::Frame*)" -> "(anonymous
// namespace)::fetch". The JSON keeps the full name.
std::string short_name(std::string_view name);
// A type name as the runtime records it (a typeid name: "St13runtime_error"), demangled; a
// name that is already readable, or a word that is no valid mangling ("worker"), stays as it is.
std::string demangle_type(std::string_view recorded);
// "function (file:line)", parts left out when unknown.
std::string where(const std::string& function, const std::string& file, std::uint64_t line);
// `text` cut to `width` characters with a trailing "...", or padded to it.
std::string fit(std::string_view text, std::size_t width);

}  // namespace loopscope::viewer::detail
