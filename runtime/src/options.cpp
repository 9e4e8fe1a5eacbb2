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

namespace {

// A positive whole number of milliseconds; anything else leaves `out` as it is.
void parse_milliseconds(const char* text, std::chrono::milliseconds& out) {
  long value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec == std::errc() && ptr == end && value > 0) {
    out = std::chrono::milliseconds(value);
  }
}

}  // namespace

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
    parse_milliseconds(ms, options.slow_callback_duration);
  }
  if (const char* ms = std::getenv("LOOPSCOPE_STALL_MS")) {
    parse_milliseconds(ms, options.stall_duration);
  }
  if (const char* limit = std::getenv("LOOPSCOPE_FANOUT_LIMIT")) {
    std::size_t value = 0;
    const char* end = limit + std::strlen(limit);
    auto [ptr, ec] = std::from_chars(limit, end, value);
    if (ec == std::errc() && ptr == end && value > 0) {
      options.fanout_limit = value;
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
