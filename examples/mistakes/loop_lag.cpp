// Mistake: many tasks that each compute a little between their awaits. No single step is
// slow enough to be a slow callback, but together they keep the loop busy: a timer that is
// due waits for every queued step to run first. The heartbeat below asks for 20 ms and
// gets hundreds; asyncio's advice is to watch this "loop lag" continuously.
// Fix: move the CPU work off the loop (`co_await ls::to_thread(resize, image)`, a pool
// with as many threads as cores), or bound the batch with an ls::Semaphore.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/loop_lag

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace ls = loopscope;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void resize_part(int image) {  // stands for 25 ms of image processing
  const auto until = Clock::now() + 25ms;
  while (Clock::now() < until) {
  }
  (void)image;
}

ls::Task<void> resize(int image) {
  for (int part = 0; part < 2; ++part) {
    resize_part(image);      // MISTAKE: CPU work on the loop, 25 ms a step
    co_await ls::sleep(0s);  // yields, but every other resize is queued before the timer
  }
}

ls::Task<void> heartbeat() {
  const auto start = Clock::now();
  co_await ls::sleep(20ms);
  const std::chrono::duration<double, std::milli> took = Clock::now() - start;
  std::printf("heartbeat: asked for 20 ms, woke after %.0f ms\n", took.count());
}

ls::Task<int> amain() {
  auto beat = ls::spawn(heartbeat());
  std::vector<ls::Task<void>> batch;
  batch.reserve(10);
  for (int image = 0; image < 10; ++image) {
    batch.push_back(resize(image));
  }
  co_await ls::gather(std::move(batch));
  co_await beat;
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
