// Producer/consumer with backpressure: a bounded Queue(maxsize=5) between a fast producer
// and a slow consumer. Once the queue is full, put() suspends the producer until the
// consumer makes room, so the producer can never run more than 5 items ahead.
//
//   ./build/release/examples/producer_consumer

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

constexpr int kItems = 20;

double now_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

ls::Task<void> producer(ls::Queue<int>* queue, std::chrono::steady_clock::time_point start) {
  for (int i = 0; i < kItems; ++i) {
    if (queue->full()) {
      std::printf("%7.1f ms  producer: queue full (%zu items), waiting\n", now_ms(start),
                  queue->size());
    }
    co_await queue->put(i);  // suspends while the queue is full: the backpressure
    std::printf("%7.1f ms  producer: put %d\n", now_ms(start), i);
  }
  queue->shutdown();  // no more items: the consumer drains the queue, then stops
}

ls::Task<int> consumer(ls::Queue<int>* queue, std::chrono::steady_clock::time_point start) {
  int total = 0;
  try {
    for (;;) {
      const int item = co_await queue->get();
      co_await ls::sleep(10ms);  // a slow consumer
      total += item;
      queue->task_done();
      std::printf("%7.1f ms  consumer: processed %d\n", now_ms(start), item);
    }
  } catch (const ls::QueueShutDown&) {
  }
  co_return total;
}

ls::Task<int> amain() {
  ls::Queue<int> queue(5);
  const auto start = std::chrono::steady_clock::now();
  auto [none, total] = co_await ls::gather(producer(&queue, start), consumer(&queue, start));
  std::printf("consumed %d items, sum %d, in %.0f ms (the slow consumer set the pace)\n", kItems,
              total, now_ms(start));
  co_return 0;
}

}  // namespace

int main() {
  return ls::run(amain());
}
