// Mistake: one task per item with no bound, asyncio's
// `await asyncio.gather(*[fetch(u) for u in urls])` over 20,000 URLs. Every request starts
// at once: 20,000 sockets, 20,000 frames, and a server that sees a flood.
// Fix: bound the concurrency with a semaphore held around the work,
//   ls::Semaphore limit{100};  ...  auto permit = co_await limit.acquire();
// (examples/fetch_with_semaphore.cpp), or feed a fixed number of workers from an ls::Queue.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/unbounded_fanout
//   (the limit is 10,000 live tasks per spawn site; LOOPSCOPE_FANOUT_LIMIT changes it)

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<int> fetch(int id) {
  co_await ls::sleep(1ms);  // stands for an HTTP request
  co_return id % 2;
}

ls::Task<int> amain() {
  std::vector<ls::TaskHandle<int>> requests;
  requests.reserve(20'000);
  for (int id = 0; id < 20'000; ++id) {
    requests.push_back(ls::spawn(fetch(id)));  // MISTAKE: 20,000 requests in flight at once
  }
  int odd = 0;
  for (auto& request : requests) {
    odd += co_await request;
  }
  std::printf("%d odd ids\n", odd);
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
