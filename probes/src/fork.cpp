#include <loopscope/probes/fork.hpp>

#include <atomic>
#include <pthread.h>

namespace loopscope::probes {

namespace {

constinit std::atomic<std::uint32_t> g_generation{0};

void count_fork_in_child() noexcept {
  g_generation.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::uint32_t fork_generation() noexcept {
  // Registered before any owner records its generation: owners call this when they are made.
  static const bool registered = pthread_atfork(nullptr, nullptr, count_fork_in_child) == 0;
  (void)registered;
  return g_generation.load(std::memory_order_relaxed);
}

}  // namespace loopscope::probes
