// Mistake: fire and forget, asyncio's `asyncio.create_task(send_metrics())` whose result
// nobody looks at. When the task fails, its exception goes nowhere: the metrics are lost
// and the program does not notice ("Task exception was never retrieved").
// Fix: keep the handle and await it (`co_await metrics;`), or spawn into an ls::TaskGroup
// whose join() rethrows the failures; at the very least check handle.exception().
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/exception_never_retrieved
//   (reported without LOOPSCOPE_DEBUG too)

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<void> send_metrics(std::string endpoint) {
  co_await ls::sleep(5ms);  // stands for connecting
  throw std::runtime_error("connection refused: " + endpoint);
}

ls::Task<int> handle_request(int id) {
  ls::spawn(send_metrics("metrics.internal:9125"));  // MISTAKE: nobody awaits the handle
  co_await ls::sleep(20ms);                          // the request's real work
  co_return id * 2;
}

ls::Task<int> amain() {
  const int answer = co_await handle_request(21);
  std::printf("request answered: %d\n", answer);
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
