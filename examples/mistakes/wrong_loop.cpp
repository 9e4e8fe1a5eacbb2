// Mistake: awaiting a task of one event loop from another loop. With one loop per thread
// (thread-per-core, or a helper thread that calls run()), a TaskHandle belongs to the loop
// that spawned it; asyncio says "Future attached to a different loop". Here a worker
// thread runs its own loop and awaits the main loop's cache task.
// Fix: hand results between loops through thread-safe calls: `run_coroutine_threadsafe`
// or `call_soon_threadsafe` on the owning loop, or keep the work on one loop.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/wrong_loop

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<int> load_cache() {
  co_await ls::sleep(50ms);
  co_return 42;
}

// Runs on the worker thread's own loop.
ls::Task<int> lookup(ls::TaskHandle<int>* cache) {
  co_return co_await *cache;  // MISTAKE: *cache belongs to the main thread's loop
}

ls::Task<int> amain() {
  ls::TaskHandle<int> cache = ls::spawn(load_cache());
  auto on_worker = [&cache] { return ls::run(lookup(&cache)); };
  try {
    std::printf("worker saw %d\n", co_await ls::to_thread(on_worker));
  } catch (const ls::Error& e) {
    std::fprintf(stderr, "worker: %s\n", e.what());
  }
  std::printf("main loop saw %d\n", co_await cache);  // the same loop: fine
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
