#include <loopscope/options.hpp>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <strings.h>

namespace loopscope {

bool env_flag_enabled(const char* value) noexcept {
  if (value == nullptr) {
    return false;
  }
  return strcasecmp(value, "1") == 0 || strcasecmp(value, "true") == 0 ||
         strcasecmp(value, "yes") == 0;
}

// The environment is read once, when run() starts, before the loop runs any code of its
// own; getenv's lack of thread-safety only matters to programs that call setenv
// concurrently, which POSIX leaves undefined anyway.
// NOLINTBEGIN(concurrency-mt-unsafe)
Options apply_environment(Options options) {
  if (const char* debug = std::getenv("LOOPSCOPE_DEBUG")) {
    // As with PYTHONASYNCIODEBUG, only an explicit yes turns it on; LOOPSCOPE_DEBUG=0 does
    // not. An explicit no leaves the programmatic setting as it is.
    if (env_flag_enabled(debug)) {
      options.debug = true;
    }
  }
  if (const char* ms = std::getenv("LOOPSCOPE_SLOW_CALLBACK_MS")) {
    long value = 0;
    const char* end = ms + std::strlen(ms);
    auto [ptr, ec] = std::from_chars(ms, end, value);
    if (ec == std::errc() && ptr == end && value > 0) {
      options.slow_callback_duration = std::chrono::milliseconds(value);
    }
  }
  if (const char* path = std::getenv("LOOPSCOPE_TRACE"); path != nullptr && *path != '\0') {
    options.trace_path = path;
  }
  if (const char* live = std::getenv("LOOPSCOPE_LIVE"); live != nullptr && *live != '\0') {
    options.live_address = live;
  }
  return options;
}
// NOLINTEND(concurrency-mt-unsafe)

}  // namespace loopscope
