// Mistake: calling a loop method from another thread, asyncio's `loop.call_soon(cb)` from
// a thread instead of `loop.call_soon_threadsafe(cb)`. The loop's queues are not locked;
// only call_soon_threadsafe and run_coroutine_threadsafe may be called off its thread.
// loopscope refuses the call with an ls::Error (asyncio checks only in debug mode).
// Fix: `loop.call_soon_threadsafe(...)`, as the catch block below does.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/thread_safety

#include <loopscope/loopscope.hpp>

#include <cstdio>
#include <thread>

namespace ls = loopscope;

namespace {

// A driver that delivers readings on a thread of its own, as C libraries often do.
void on_sensor_thread(ls::Loop& loop, ls::Event& arrived, int& reading) {
  reading = 42;
  try {
    loop.call_soon([&arrived] { arrived.set(); });  // MISTAKE: not the loop's thread
  } catch (const ls::Error& e) {
    std::fprintf(stderr, "sensor thread: %s\n", e.what());
    loop.call_soon_threadsafe([&arrived] { arrived.set(); });  // the fix
  }
}

ls::Task<int> amain() {
  ls::Event arrived;
  int reading = 0;
  std::thread sensor(on_sensor_thread, std::ref(ls::current_loop()), std::ref(arrived),
                     std::ref(reading));
  co_await arrived.wait();
  sensor.join();
  std::printf("reading: %d\n", reading);
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
