// Fork awareness for the objects that own threads (the collector, the debug watchdog, thread
// pools).
//
// fork() copies only the thread that calls it: in the child, the collector's and the
// watchdog's threads are gone, and so is every lock they held at that moment. Joining such a
// thread, or taking such a lock, is undefined behaviour (in practice a hang), and a child
// that wrote on into its parent's trace file would interleave its bytes with the parent's.
// An owner therefore notes the generation it was made in, and in a child (ForkGuard::
// in_child()) it leaves its threads alone: it drops them without a join, touches no lock
// they may have held, and writes nothing to shared files.
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <thread>
#include <utility>

namespace loopscope::probes {

// How many fork()s separate this process from the one the program started as: 0 there, one
// more in each child. The first call registers the pthread_atfork handler that counts.
std::uint32_t fork_generation() noexcept;

// The generation an owner was made in.
class ForkGuard {
 public:
  ForkGuard() noexcept : generation_(fork_generation()) {}
  // True in a process forked after the owner was made: its threads do not exist here.
  [[nodiscard]] bool in_child() const noexcept { return fork_generation() != generation_; }

 private:
  std::uint32_t generation_;
};

// Gives up a thread that does not exist in this process (a forked child's copy of a parent's
// std::thread): neither joined nor detached, both of which would act on the parent's thread
// descriptor, and not destroyed joinable, which would terminate. Its few bytes stay allocated.
inline void abandon(std::thread& thread) noexcept {
  if (!thread.joinable()) {
    return;
  }
  void* holder = ::operator new(sizeof(std::thread), std::nothrow);
  if (holder == nullptr) {
    std::terminate();  // out of memory in a forked child: nothing sound is left to do
  }
  new (holder) std::thread(std::move(thread));  // leaked on purpose, see above
}  // NOLINT(clang-analyzer-cplusplus.NewDeleteLeaks)

}  // namespace loopscope::probes
