// thread_safety: the operations that touch a loop's run queue refuse other threads (asyncio
// raises "Non-thread-safe operation invoked on an event loop other than the current one"),
// with an Error and a finding; in debug mode the finding carries the calling thread's stack.

#include "debug_test_support.hpp"
#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::has_frame;
using testing::run_debug;
using testing::WarningRecorder;

// Runs `call` on a new thread (with no loop) and returns the Error it threw, if any.
std::string error_on_another_thread(const std::function<void()>& call) {
  std::string message;
  std::thread other([&call, &message] {
    try {
      call();
    } catch (const Error& e) {
      message = e.what();
    }
  });
  other.join();
  return message;
}

// Out of line and not a tail call, so that the finding's stack shows this function.
[[gnu::noinline]] void sets_the_event_from_elsewhere(Event* event) {
  event->set();
  asm volatile("" ::: "memory");  // keeps the call out of tail position
}

Task<void> waits_for(Event* event) {
  co_await event->wait();
}

Task<std::string> sets_an_event_from_another_thread() {
  Event event;
  auto waiter = spawn(waits_for(&event));
  co_await sleep(0ms);  // the waiter is waiting now
  std::string message =
      error_on_another_thread([&event] { sets_the_event_from_elsewhere(&event); });
  event.set();
  co_await waiter;
  co_return message;
}

TEST(ThreadSafety, EventSetFromAnotherThreadIsRefusedWithTheCallersStack) {
  WarningRecorder warnings{WarningKind::kThreadSafety};
  const std::string message = run_debug(sets_an_event_from_another_thread());
  EXPECT_EQ(message.find("Event::set() called from a thread that is not the loop's"), 0U)
      << message;
  ASSERT_EQ(warnings.count(WarningKind::kThreadSafety), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_EQ(finding.message, "Event::set() called from a thread that is not the loop's");
  EXPECT_TRUE(has_frame(finding, "sets_the_event_from_elsewhere("));
}

TEST(ThreadSafety, WithoutDebugModeTheFindingHasNoStack) {
  testing::unset_debug_environment();
  WarningRecorder warnings{WarningKind::kThreadSafety};
  EXPECT_FALSE(testing::run_manual(sets_an_event_from_another_thread()).empty());
  ASSERT_EQ(warnings.count(WarningKind::kThreadSafety), 1);
  EXPECT_TRUE(warnings.all().at(0).frames.empty());
}

Task<int> gets(Queue<int>* queue) {
  co_return co_await queue->get();
}

TEST(ThreadSafety, QueuePutNowaitFromAnotherThreadIsRefused) {
  WarningRecorder warnings{WarningKind::kThreadSafety};
  auto amain = []() -> Task<std::string> {
    Queue<int> queue;
    auto getter = spawn(gets(&queue));
    co_await sleep(0ms);
    std::string message = error_on_another_thread([&queue] { queue.put_nowait(1); });
    queue.put_nowait(2);
    EXPECT_EQ(co_await getter, 2);  // the refused put left nothing behind
    co_return message;
  };
  EXPECT_EQ(run_debug(amain()).find("Queue::put_nowait() called from a thread"), 0U);
  EXPECT_EQ(warnings.count(WarningKind::kThreadSafety), 1);
}

TEST(ThreadSafety, CancellingATaskFromAnotherThreadIsRefused) {
  WarningRecorder warnings{WarningKind::kThreadSafety};
  auto amain = []() -> Task<std::string> {
    Event never;
    auto h = spawn(waits_for(&never));
    co_await sleep(0ms);
    std::string message = error_on_another_thread([&h] { h.cancel(); });
    EXPECT_FALSE(h.done());
    h.cancel();
    EXPECT_THROW(co_await h, CancelledError);
    co_return message;
  };
  EXPECT_EQ(run_debug(amain()).find("TaskHandle::cancel() called from a thread"), 0U);
  EXPECT_EQ(warnings.count(WarningKind::kThreadSafety), 1);
}

TEST(ThreadSafety, CallSoonFromAnotherThreadIsRefused) {
  WarningRecorder warnings{WarningKind::kThreadSafety};
  auto amain = []() -> Task<std::string> {
    Loop& loop = current_loop();
    co_return error_on_another_thread([&loop] { loop.call_soon([] {}); });
  };
  EXPECT_EQ(run_debug(amain()).find("Loop::call_soon() called from a thread"), 0U);
  ASSERT_EQ(warnings.count(WarningKind::kThreadSafety), 1);
  EXPECT_FALSE(warnings.all().at(0).frames.empty());  // the other thread's stack
}

Task<int> value(int v) {
  co_return v;
}

TEST(ThreadSafety, SpawnFromAThreadWithoutALoopIsAClearError) {
  // The refused Task is destroyed unawaited, which is reported too.
  WarningRecorder warnings{WarningKind::kNeverAwaited};
  auto amain = []() -> Task<std::string> {
    co_return error_on_another_thread([] { (void)spawn(value(1)); });
  };
  EXPECT_NE(run_debug(amain()).find("no running event loop"), std::string::npos);
  EXPECT_EQ(warnings.count(WarningKind::kNeverAwaited), 1);
}

}  // namespace
}  // namespace loopscope
