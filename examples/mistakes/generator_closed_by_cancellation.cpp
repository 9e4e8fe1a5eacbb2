// Mistake: a timeout around one next() of an async generator, asyncio's
// `await asyncio.wait_for(stream.__anext__(), 5)`. The generator's body runs inside next();
// when the timeout fires it is cancelled there, CancelledError ends the body, and the
// generator is finished: the "retry" below gets end-of-stream and 3 of the 5 chunks are
// silently lost (the streaming bug of the asyncio war stories).
// Fix: put the timeout around the whole iteration, or consume the stream in a task of its
// own that feeds an ls::Queue and time out the `queue.get()` instead.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/generator_closed_by_cancellation

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::AsyncGenerator<std::string> stream_chunks() {
  for (int i = 0; i < 5; ++i) {
    co_await ls::sleep(i == 2 ? 80ms : 10ms);  // chunk 2 comes slowly (a tool call)
    co_yield "chunk " + std::to_string(i);
  }
}

ls::Task<int> amain() {
  auto stream = stream_chunks();
  int received = 0;
  while (true) {
    try {
      auto chunk = co_await ls::timeout(50ms, stream.next());  // MISTAKE: closes the stream
      if (!chunk) {
        break;
      }
      ++received;
    } catch (const ls::TimeoutError&) {
      std::fprintf(stderr, "chunk late, waiting for the next one\n");
    }
  }
  std::printf("received %d of 5 chunks\n", received);
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
