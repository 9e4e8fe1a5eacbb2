#include <loopscope/probes/stack.hpp>

#include <libunwind.h>

#include <algorithm>
#include <array>

namespace loopscope::probes {

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

}  // namespace loopscope::probes
