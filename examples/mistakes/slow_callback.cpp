// Mistake: CPU-bound work inside a coroutine, the `for i in range(10_000_000): total += i`
// of the asyncio chapters. A coroutine only lets other tasks run at its co_awaits; between
// two of them it holds the loop, and every other task, timer and socket waits.
// Fix: move the work to a thread, `co_await ls::to_thread(stretch_key, password)`, or cut it
// into slices with a `co_await ls::sleep(0s)` between them.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/slow_callback

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

// Key stretching: many rounds of a mixing function, the kind of work a login does.
std::uint64_t stretch_key(const std::string& password) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : password) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  for (int round = 0; round < 40'000'000; ++round) {
    h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
  }
  return h;
}

ls::Task<bool> sign_in(std::string user, std::string password) {
  co_await ls::sleep(5ms);                          // look the user up
  const std::uint64_t key = stretch_key(password);  // MISTAKE: holds the loop for ~100 ms
  co_return user == "alice" && key != 0;
}

ls::Task<int> amain() {
  const bool ok = co_await sign_in("alice", "correct horse battery staple");
  std::printf("sign-in %s\n", ok ? "ok" : "refused");
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  // A low threshold, so that the example needs to hold the loop only briefly.
  return ls::run(amain(), {.slow_callback_duration = 30ms});
}
