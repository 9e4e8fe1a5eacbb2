#include "text_format.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <cxxabi.h>
#include <memory>

namespace loopscope::viewer::detail {

namespace {

// The end of `s` is a bracketed group opened by `open`: the index of its opening bracket.
std::size_t group_start(std::string_view s, char open, char close) {
  int depth = 0;
  for (std::size_t i = s.size(); i-- > 0;) {
    depth += s[i] == close ? 1 : s[i] == open ? -1 : 0;
    if (depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string Style::wrap(std::string_view code, std::string_view text) const {
  if (!on) {
    return std::string(text);
  }
  return "\033[" + std::string(code) + "m" + std::string(text) + "\033[0m";
}

std::string duration(std::uint64_t ns) {
  const auto v = static_cast<double>(ns);
  if (ns < 1'000) {
    return format("%llu ns", static_cast<unsigned long long>(ns));
  }
  if (ns < 1'000'000) {
    return format("%.2f us", v / 1e3);
  }
  if (ns < 1'000'000'000) {
    return format("%.2f ms", v / 1e6);
  }
  return format("%.3f s", v / 1e9);
}

std::string count(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

std::string wall_clock(std::uint64_t unix_ns) {
  const auto seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000u);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf.data();
}

std::string short_name(std::string_view name) {
  if (const auto with = name.find(" [with "); with != std::string_view::npos) {
    name = name.substr(0, with);
  }
  if (name.ends_with(')')) {
    const std::size_t open = group_start(name, '(', ')');
    if (open != std::string_view::npos && open > 0) {
      name = name.substr(0, open);
    }
  }
  int depth = 0;
  for (std::size_t i = name.size(); i-- > 0;) {
    depth += name[i] == '>' || name[i] == ')' ? 1 : name[i] == '<' || name[i] == '(' ? -1 : 0;
    if (depth == 0 && name[i] == ' ' && (i == 0 || name[i - 1] != ',')) {
      return std::string(name.substr(i + 1));
    }
  }
  return std::string(name);
}

std::string demangle_type(std::string_view recorded) {
  std::string text(recorded);
  if (text.empty() || text.find_first_of(" :(<") != std::string::npos) {
    return text;
  }
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(text.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : text;
}

std::string where(const std::string& function, const std::string& file, std::uint64_t line) {
  std::string s = function.empty() ? "<unknown>" : short_name(function);
  if (!file.empty()) {
    s += " (" + file + (line != 0 ? ":" + std::to_string(line) : "") + ")";
  }
  return s;
}

std::string fit(std::string_view text, std::size_t width) {
  if (text.size() > width) {
    return std::string(text.substr(0, width > 3 ? width - 3 : 0)) + "...";
  }
  std::string out(text);
  out.resize(width, ' ');
  return out;
}

}  // namespace loopscope::viewer::detail
