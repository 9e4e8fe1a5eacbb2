// Mistake: waiting for a std::mutex on the loop's thread, asyncio's `with threading.Lock():`
// inside a coroutine. A to_thread job holds the cache lock while it saves the cache; the
// coroutine that wants the lock freezes the whole loop until the job lets go. No call the
// blocking_call check knows is involved (the wait is a futex inside pthread_mutex_lock):
// only the watchdog's stack of the stuck loop thread shows where it waits.
// Fix: never wait for a thread's lock on the loop. Do the locked work in the job too
// (`co_await ls::to_thread(update)`), or hand results over with call_soon_threadsafe; use
// ls::Lock for state shared only between tasks.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/stall

#include <loopscope/loopscope.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

std::mutex cache_mutex;
std::map<std::string, std::string> cache;
std::atomic<bool> saving{false};

void save_cache_to_disk() {  // runs on a thread of the pool
  const std::lock_guard lock(cache_mutex);
  saving = true;
  std::this_thread::sleep_for(200ms);  // stands for writing a large file
}

ls::Task<void> save_cache() {
  co_await ls::to_thread(save_cache_to_disk);
}

ls::Task<void> remember(std::string key, std::string value) {
  const std::lock_guard lock(cache_mutex);  // MISTAKE: the loop waits here for the saver
  cache[key] = std::move(value);
  co_return;
}

ls::Task<int> amain() {
  auto saver = ls::spawn(save_cache());
  while (!saving) {
    co_await ls::sleep(1ms);  // (the example lets the saver take the lock first)
  }
  co_await remember("user:42", "alice");
  co_await saver;
  std::printf("cache has %zu entry\n", cache.size());
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  // Low thresholds (the stall default is 1 s), so that the example blocks only briefly.
  return ls::run(amain(), {.slow_callback_duration = 50ms, .stall_duration = 50ms});
}
