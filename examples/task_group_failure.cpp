// A TaskGroup whose second child fails: the group cancels its siblings at once, waits for
// them, and join() throws TaskGroupError holding the failure (but not the cancellations it
// caused itself), as asyncio.TaskGroup does.
//
//   ./build/release/examples/task_group_failure

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<std::string> download(std::string name, std::chrono::milliseconds takes) {
  try {
    co_await ls::sleep(takes);
  } catch (const ls::CancelledError&) {
    std::printf("  %s: cancelled by the group, cleaning up\n", name.c_str());
    throw;  // a cancellation must be re-raised, never swallowed
  }
  std::printf("  %s: done after %lld ms\n", name.c_str(), static_cast<long long>(takes.count()));
  co_return name;
}

ls::Task<std::string> broken(std::chrono::milliseconds after) {
  co_await ls::sleep(after);
  std::printf("  broken: failing\n");
  throw std::runtime_error("server returned 503");
}

ls::Task<int> amain() {
  std::printf("spawning three downloads into a TaskGroup; one of them fails after 200 ms\n");
  ls::TaskGroup group;
  auto fast = group.spawn(download("fast", 100ms), "fast");
  group.spawn(broken(200ms), "broken");
  auto slow = group.spawn(download("slow", 5s), "slow");
  try {
    co_await group.join();
  } catch (const ls::TaskGroupError& e) {
    std::printf("join() threw TaskGroupError with %zu exception(s):\n", e.exceptions().size());
    for (const auto& ex : e.exceptions()) {
      try {
        std::rethrow_exception(ex);
      } catch (const std::exception& inner) {
        std::printf("  - %s\n", inner.what());
      }
    }
  }
  std::printf("fast finished: %s; slow was cancelled: %s\n", fast.result().c_str(),
              slow.cancelled() ? "yes" : "no");
  co_return 0;
}

}  // namespace

int main() {
  return ls::run(amain());
}
