// Helpers of the debug-mode tests: running in debug mode, and looking for a frame.
#pragma once

#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace loopscope::testing {

// Runs `main` in debug mode on a fresh ManualClock.
template <class T>
T run_debug(Task<T> main, Options options = {}) {
  ManualClock clock;
  options.debug = true;
  options.clock = &clock;
  return run(std::move(main), options);
}

// True if `finding` has a frame in this directory's tests whose function contains
// `function`: the finding names the user's code, with its file.
inline bool has_frame(const Warning& finding, std::string_view function) {
  for (const StackFrame& frame : finding.frames) {
    const std::string_view file = frame.file;
    if (frame.function.find(function) != std::string::npos &&
        file.find("/tests/runtime/") != std::string_view::npos && file.ends_with("_test.cpp")) {
      return true;
    }
  }
  return false;
}

// The frames of `finding`, one per line, for a failure message.
inline std::string describe_frames(const Warning& finding) {
  std::string text;
  for (const StackFrame& frame : finding.frames) {
    text.append(frame.function).append(" (").append(frame.file).append(":");
    text.append(std::to_string(frame.line)).append(")\n");
  }
  return text;
}

// For the tests of what happens without debug mode: the suite also runs with
// LOOPSCOPE_DEBUG=1, and the finding guard puts the variable back before the next test.
inline void unset_debug_environment() {
  unsetenv("LOOPSCOPE_DEBUG");  // NOLINT(concurrency-mt-unsafe): tests run one at a time
}

}  // namespace loopscope::testing
