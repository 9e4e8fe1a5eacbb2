// Mistake: a blocking call inside a coroutine, asyncio's `time.sleep(1)` in an `async def`.
// usleep() puts the loop's whole thread to sleep: no other task runs meanwhile, so the
// three fetches below take 3 x 20 ms one after another instead of 20 ms together.
// Fix: `co_await ls::sleep(20ms)`; for a blocking library call, `co_await ls::to_thread(f)`.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/blocking_call

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<std::string> fetch(std::string url) {
  usleep(20'000);  // MISTAKE: blocks the event loop; write co_await ls::sleep(20ms)
  co_return "<contents of " + url + ">";
}

ls::Task<int> amain() {
  const auto start = std::chrono::steady_clock::now();
  auto [a, b, c] = co_await ls::gather(fetch("a"), fetch("b"), fetch("c"));
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  std::printf("%s %s %s in %.0f ms (about 20 ms had they overlapped)\n", a.c_str(), b.c_str(),
              c.c_str(), took.count());
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
