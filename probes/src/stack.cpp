#include <loopscope/probes/stack.hpp>

// The local unwinder only (the _UL* functions of libunwind.so).
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <algorithm>
#include <array>

namespace loopscope::probes {

#if defined(__SANITIZE_THREAD__)
// Under ThreadSanitizer: frame by frame with unw_step. unw_backtrace keeps a per-thread
// cache whose destructor takes a lock when the thread exits, after ThreadSanitizer has let
// go of the thread's state, and that crashes the program (google/sanitizers#943).
std::size_t capture_stack(std::span<std::uintptr_t> out, std::size_t skip) noexcept {
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) {
    return 0;
  }
  std::size_t n = 0;
  std::size_t frame = 0;  // capture_stack's own frame first, as with unw_backtrace
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) {
      break;
    }
    if (frame++ > skip) {
      out[n++] = static_cast<std::uintptr_t>(ip);
    }
  } while (n < out.size() && unw_step(&cursor) > 0);
  return n;
}
#else
std::size_t capture_stack(std::span<std::uintptr_t> out, std::size_t skip) noexcept {
  // unw_backtrace writes into a caller-provided array of void*; capture_stack's own frame
  // is the first entry, then the `skip` frames the caller asked to leave out.
  constexpr std::size_t kMaxFrames = 128;
  std::array<void*, kMaxFrames> raw{};
  const std::size_t wanted = std::min(kMaxFrames, out.size() + skip + 1);
  const int got = unw_backtrace(raw.data(), static_cast<int>(wanted));
  if (got <= 0) {
    return 0;
  }
  std::size_t n = 0;
  for (auto i = skip + 1; i < static_cast<std::size_t>(got) && n < out.size(); ++i) {
    out[n++] = reinterpret_cast<std::uintptr_t>(raw[i]);
  }
  return n;
}
#endif

}  // namespace loopscope::probes
