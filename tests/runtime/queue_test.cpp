#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::now_ms;
using testing::run_manual;

struct Progress {
  int produced = 0;
  int consumed = 0;
  int max_ahead = 0;
  std::size_t max_size = 0;
  long long producer_done_ms = -1;
};

Task<void> produce(Queue<int>* q, Progress* p, int n) {
  for (int i = 0; i < n; ++i) {
    co_await q->put(i);
    ++p->produced;
    p->max_ahead = std::max(p->max_ahead, p->produced - p->consumed);
    p->max_size = std::max(p->max_size, q->size());
  }
  p->producer_done_ms = now_ms();
}

Task<std::vector<int>> consume_slowly(Queue<int>* q, Progress* p, int n) {
  std::vector<int> got;
  for (int i = 0; i < n; ++i) {
    got.push_back(co_await q->get());
    ++p->consumed;
    co_await sleep(1ms);
  }
  co_return got;
}

template <class Q>
Task<std::vector<int>> drain(Q* q) {
  std::vector<int> out;
  while (!q->empty()) {
    out.push_back(co_await q->get());
  }
  co_return out;
}

Task<int> get_one(Queue<int>* q) {
  co_return co_await q->get();
}

Task<void> put_one(Queue<int>* q, int v) {
  co_await q->put(v);
}

TEST(Queue, ABoundedQueueMakesTheProducerWaitWhileItIsFull) {
  auto amain = []() -> Task<void> {
    Queue<int> q{10};
    Progress p;
    auto producer = spawn(produce(&q, &p, 100));
    auto consumer = spawn(consume_slowly(&q, &p, 100));
    co_await producer;
    std::vector<int> got = co_await consumer;
    std::vector<int> expected(100);
    for (int i = 0; i < 100; ++i) {
      expected[i] = i;
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(p.max_ahead, 10);  // never more than maxsize ahead, and it got there
    EXPECT_EQ(p.max_size, 10u);
    EXPECT_EQ(p.producer_done_ms, 89);  // it waited for the consumer to take 90 items
  };
  run_manual(amain());
}

TEST(Queue, ItemsComeOutFirstInFirstOut) {
  auto amain = []() -> Task<std::vector<int>> {
    Queue<int> q;
    for (int v : {3, 1, 2}) {
      co_await q.put(v);
    }
    co_return co_await drain(&q);
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{3, 1, 2}));
}

TEST(LifoQueue, ItemsComeOutLastInFirstOut) {
  auto amain = []() -> Task<std::vector<int>> {
    LifoQueue<int> q;
    for (int v : {3, 1, 2}) {
      co_await q.put(v);
    }
    co_return co_await drain(&q);
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{2, 1, 3}));
}

TEST(PriorityQueue, TheSmallestItemComesOutFirst) {
  auto amain = []() -> Task<std::vector<int>> {
    PriorityQueue<int> q;
    for (int v : {5, 1, 4, 2, 3}) {
      co_await q.put(v);
    }
    co_return co_await drain(&q);
  };
  EXPECT_EQ(run_manual(amain()), (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(PriorityQueue, AComparatorDecidesWhatSmallestMeans) {
  PriorityQueue<int, std::greater<>> q;
  for (int v : {5, 1, 4}) {
    q.put_nowait(v);
  }
  EXPECT_EQ(q.get_nowait(), 5);
  EXPECT_EQ(q.get_nowait(), 4);
  EXPECT_EQ(q.get_nowait(), 1);
}

TEST(PriorityQueue, AWaitingPuttersItemTakesItsPlaceByPriority) {
  auto putter = [](PriorityQueue<int>* q, int v) -> Task<void> { co_await q->put(v); };
  auto amain = [](decltype(putter) pu) -> Task<std::vector<int>> {
    PriorityQueue<int> q{2};
    co_await q.put(5);
    co_await q.put(1);
    auto h = spawn(pu(&q, 0));  // waits: the queue is full
    co_await sleep(0ms);
    std::vector<int> out;
    out.push_back(co_await q.get());  // 1; the waiting 0 moves in
    co_await h;
    out.push_back(co_await q.get());
    out.push_back(co_await q.get());
    co_return out;
  };
  EXPECT_EQ(run_manual(amain(putter)), (std::vector<int>{1, 0, 5}));
}

TEST(Queue, TheRingBufferKeepsOrderAcrossWrapAroundAndGrowth) {
  Queue<int> q;
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) {
      q.put_nowait(next_in++);
    }
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(q.get_nowait(), next_out++);
    }
  }
  while (!q.empty()) {
    EXPECT_EQ(q.get_nowait(), next_out++);
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(Queue, PutNowaitOnAFullQueueThrowsQueueFull) {
  Queue<int> q{2};
  q.put_nowait(1);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(3), QueueFull);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.maxsize(), 2u);
}

TEST(Queue, GetNowaitOnAnEmptyQueueThrowsQueueEmpty) {
  Queue<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());  // unbounded
  EXPECT_THROW(q.get_nowait(), QueueEmpty);
}

TEST(Queue, PutAndGetDoNotSuspendWhenTheyNeedNot) {
  auto other = [](bool* ran) -> Task<void> {
    *ran = true;
    co_return;
  };
  auto amain = [](decltype(other) o) -> Task<void> {
    Queue<int> q{2};
    bool ran = false;
    auto h = spawn(o(&ran));
    co_await q.put(1);
    co_await q.put(2);
    EXPECT_EQ(co_await q.get(), 1);
    EXPECT_EQ(co_await q.get(), 2);
    EXPECT_FALSE(ran);
    co_await h;
  };
  run_manual(amain(other));
}

TEST(Queue, WaitingGettersAreServedInTheOrderTheyArrived) {
  auto amain = []() -> Task<void> {
    Queue<int> q;
    auto a = spawn(get_one(&q));
    auto b = spawn(get_one(&q));
    co_await sleep(0ms);
    co_await q.put(1);
    co_await q.put(2);
    EXPECT_TRUE(q.empty());  // both went straight to the getters
    EXPECT_EQ(co_await a, 1);
    EXPECT_EQ(co_await b, 2);
  };
  run_manual(amain());
}

TEST(Queue, JoinWaitsUntilEveryItemIsMarkedDone) {
  auto worker = [](Queue<int>* q, int* done) -> Task<void> {
    for (;;) {
      (void)co_await q->get();
      co_await sleep(1ms);
      ++*done;
      q->task_done();
    }
  };
  auto amain = [](decltype(worker) w) -> Task<void> {
    Queue<int> q;
    int done = 0;
    for (int i = 0; i < 3; ++i) {
      q.put_nowait(i);
    }
    EXPECT_EQ(q.unfinished_tasks(), 3u);
    auto h = spawn(w(&q, &done));
    co_await q.join();
    EXPECT_EQ(done, 3);
    EXPECT_EQ(now_ms(), 3);
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
  };
  run_manual(amain(worker));
}

TEST(Queue, JoinReturnsAtOnceWhenNothingIsUnfinished) {
  auto amain = []() -> Task<void> {
    Queue<int> q;
    co_await q.join();
    q.put_nowait(1);
    (void)q.get_nowait();
    q.task_done();
    co_await q.join();
  };
  run_manual(amain());
}

TEST(Queue, TaskDoneCalledTooOftenThrows) {
  Queue<int> q;
  q.put_nowait(1);
  q.task_done();
  try {
    q.task_done();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "task_done() called too many times");
  }
}

TEST(Queue, ShutdownWakesBlockedGettersWithQueueShutDown) {
  auto amain = []() -> Task<void> {
    Queue<int> q;
    auto a = spawn(get_one(&q));
    auto b = spawn(get_one(&q));
    co_await sleep(0ms);
    q.shutdown();
    EXPECT_THROW(co_await a, QueueShutDown);
    EXPECT_THROW(co_await b, QueueShutDown);
    EXPECT_THROW(co_await q.get(), QueueShutDown);
    EXPECT_THROW(co_await q.put(1), QueueShutDown);
  };
  run_manual(amain());
}

TEST(Queue, ShutdownWakesBlockedPuttersWithQueueShutDown) {
  auto amain = []() -> Task<void> {
    Queue<int> q{1};
    co_await q.put(0);
    auto a = spawn(put_one(&q, 1));
    auto b = spawn(put_one(&q, 2));
    co_await sleep(0ms);
    q.shutdown();
    EXPECT_THROW(co_await a, QueueShutDown);
    EXPECT_THROW(co_await b, QueueShutDown);
    EXPECT_EQ(co_await q.get(), 0);  // what was queued before still comes out
    EXPECT_THROW(co_await q.get(), QueueShutDown);
  };
  run_manual(amain());
}

TEST(Queue, AfterAGracefulShutdownGetDrainsTheQueueFirst) {
  Queue<int> q;
  q.put_nowait(1);
  q.put_nowait(2);
  q.shutdown();
  EXPECT_TRUE(q.is_shutdown());
  EXPECT_THROW(q.put_nowait(3), QueueShutDown);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_THROW(q.get_nowait(), QueueShutDown);
}

TEST(Queue, AnImmediateShutdownDropsTheItemsAndReleasesJoin) {
  auto joiner = [](Queue<int>* q) -> Task<void> { co_await q->join(); };
  auto amain = [](decltype(joiner) j) -> Task<void> {
    Queue<int> q;
    q.put_nowait(1);
    q.put_nowait(2);
    auto h = spawn(j(&q));
    co_await sleep(0ms);
    EXPECT_FALSE(h.done());
    q.shutdown(true);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.unfinished_tasks(), 0u);
    co_await h;
    EXPECT_THROW(co_await q.get(), QueueShutDown);
  };
  run_manual(amain(joiner));
}

TEST(Queue, ACancelledGetterDoesNotTakeTheNextItem) {
  auto amain = []() -> Task<void> {
    Queue<int> q;
    auto a = spawn(get_one(&q));
    auto b = spawn(get_one(&q));
    co_await sleep(0ms);
    a.cancel();
    co_await q.put(7);
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_EQ(co_await b, 7);
  };
  run_manual(amain());
}

TEST(Queue, AGetterCancelledAfterTheHandOverStillReceivesTheItem) {
  auto getter = [](Queue<int>* q, int* got) -> Task<void> {
    *got = co_await q->get();
    co_await sleep(0ms);  // the cancellation is delivered here
    *got = -1;
  };
  auto amain = [](decltype(getter) g) -> Task<int> {
    Queue<int> q;
    int got = 0;
    auto h = spawn(g(&q, &got));
    co_await sleep(0ms);
    co_await q.put(7);  // handed to the getter, which has not resumed yet
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
    EXPECT_TRUE(q.empty());
    co_return got;
  };
  EXPECT_EQ(run_manual(amain(getter)), 7);
}

TEST(Queue, ACancelledPutterLeavesNoItemBehind) {
  auto amain = []() -> Task<void> {
    Queue<int> q{1};
    co_await q.put(0);
    auto h = spawn(put_one(&q, 1));
    co_await sleep(0ms);
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
    EXPECT_EQ(q.get_nowait(), 0);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.unfinished_tasks(), 1u);
  };
  run_manual(amain());
}

TEST(Queue, TimeoutAroundGetGivesUpAndLeavesNoGetterBehind) {
  auto amain = []() -> Task<void> {
    Queue<int> q;
    EXPECT_THROW(co_await timeout(10ms, q.get()), TimeoutError);
    EXPECT_EQ(now_ms(), 10);
    co_await q.put(1);
    EXPECT_EQ(q.size(), 1u);  // no stale getter swallowed it
    EXPECT_EQ(co_await timeout(10ms, q.get()), 1);
  };
  run_manual(amain());
}

TEST(Queue, TimeoutAroundGetReturnsAnItemThatArrivesInTime) {
  auto late_put = [](Queue<int>* q) -> Task<void> {
    co_await sleep(5ms);
    co_await q->put(9);
  };
  auto amain = [](decltype(late_put) lp) -> Task<int> {
    Queue<int> q;
    auto h = spawn(lp(&q));
    int v = co_await timeout(10ms, q.get());
    co_await h;
    EXPECT_EQ(now_ms(), 5);
    co_return v;
  };
  EXPECT_EQ(run_manual(amain(late_put)), 9);
}

TEST(Queue, MoveOnlyItemsPassThroughEveryPath) {
  auto getter = [](Queue<std::unique_ptr<int>>* q) -> Task<int> {
    std::unique_ptr<int> p = co_await q->get();
    co_return *p;
  };
  auto putter = [](Queue<std::unique_ptr<int>>* q, int v) -> Task<void> {
    co_await q->put(std::make_unique<int>(v));
  };
  auto amain = [](decltype(getter) g, decltype(putter) pu) -> Task<int> {
    Queue<std::unique_ptr<int>> q{1};
    auto waiting_getter = spawn(g(&q));
    co_await sleep(0ms);
    co_await q.put(std::make_unique<int>(1));  // straight to the waiting getter
    co_await q.put(std::make_unique<int>(2));  // into the queue
    auto waiting_putter = spawn(pu(&q, 3));    // waits: the queue is full
    co_await sleep(0ms);
    int sum = co_await waiting_getter;
    sum += *(co_await q.get());  // takes 2, moves 3 in
    co_await waiting_putter;
    sum += *q.get_nowait();
    q.put_nowait(std::make_unique<int>(4));
    q.shutdown(true);
    co_return sum;
  };
  EXPECT_EQ(run_manual(amain(getter, putter)), 6);
}

}  // namespace
}  // namespace loopscope
