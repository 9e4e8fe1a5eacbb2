// Mistake: a catch-all that swallows the cancellation, asyncio's bare `except:` (or
// `except BaseException:`) around an await. The task was cancelled but finishes normally,
// so whoever cancelled it believes it stopped while its caller carries on with a result.
// Fix: catch what you mean, `catch (const std::exception&)` (ls::CancelledError does not
// derive from std::exception, on purpose), or rethrow it: `catch (const
// ls::CancelledError&) { throw; }` before the catch-all.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/swallowed_cancellation

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<void> poll_queue() {
  co_await ls::sleep(10ms);  // stands for a request to a message broker
}

ls::Task<int> consume() {
  int polls = 0;
  while (true) {
    try {
      co_await poll_queue();
      ++polls;
    } catch (...) {  // MISTAKE: also catches ls::CancelledError
      std::fprintf(stderr, "poll failed, giving up\n");
      break;
    }
  }
  co_return polls;
}

ls::Task<int> amain() {
  auto consumer = ls::spawn(consume());
  co_await ls::sleep(35ms);
  consumer.cancel();                    // shutting down
  const int polls = co_await consumer;  // should throw CancelledError; returns instead
  std::printf("consumer stopped after %d polls\n", polls);
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
