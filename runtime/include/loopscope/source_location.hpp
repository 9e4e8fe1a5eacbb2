// SourceLocation: where a call was written, captured by a defaulted argument.
//
// spawn(), TaskGroup::spawn() and run() take one so that traces and reports can name the
// line that spawned each task. Like std::source_location, but built on the compiler
// builtins that GCC and Clang (including the Clang 14 of the lint tools, which lacks
// std::source_location support for libstdc++) both provide.
#pragma once

#include <cstdint>

namespace loopscope {

struct SourceLocation {
  const char* file = "";
  std::uint32_t line = 0;
  const char* function = "";

  // The default arguments are evaluated where current() is called: as a defaulted
  // argument itself, that is the caller's line.
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          std::uint32_t line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation{file, line, function};
  }
};

}  // namespace loopscope
