// Debug mode's task lifecycle checks: creation stacks on the findings that asyncio reports
// in any mode (never_awaited, destroyed_pending, exception_never_retrieved), and the
// debug-only swallowed_cancellation, unbounded_fanout and generator_closed_by_cancellation.
// Each finding is checked for its kind and for the function and file it names.

#include "debug_test_support.hpp"
#include "test_support.hpp"
#include <loopscope/loopscope.hpp>
#include <loopscope/probes/stack.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::has_frame;
using testing::run_debug;
using testing::WarningRecorder;

Task<int> value(int v) {
  co_return v;
}

Task<void> drops_a_task() {
  auto unused = value(1);  // the mistake under test: created, never awaited
  co_return;
}

TEST(DebugLifecycle, NeverAwaitedNamesTheLineThatCreatedTheCoroutine) {
  WarningRecorder warnings{WarningKind::kNeverAwaited};
  run_debug(drops_a_task());
  ASSERT_EQ(warnings.count(WarningKind::kNeverAwaited), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_EQ(finding.message,
            "coroutine 'loopscope::(anonymous namespace)::value(int)' was never awaited");
  EXPECT_TRUE(has_frame(finding, "value(int)"));
  EXPECT_TRUE(has_frame(finding, "drops_a_task()"));  // where it was created
}

TEST(DebugLifecycle, WithoutDebugModeNeverAwaitedNamesOnlyTheCoroutine) {
  testing::unset_debug_environment();
  WarningRecorder warnings{WarningKind::kNeverAwaited};
  testing::run_manual(drops_a_task());
  ASSERT_EQ(warnings.count(WarningKind::kNeverAwaited), 1);
  EXPECT_TRUE(has_frame(warnings.all().at(0), "value(int)"));
  EXPECT_FALSE(has_frame(warnings.all().at(0), "drops_a_task()"));
}

Task<std::vector<StackFrame>> creation_frames_of_a_spawned_task() {
  auto h = spawn(value(1));
  const std::vector<StackFrame> frames =
      detail::user_frames(detail::creation_stack(*h.promise_ptr()));
  co_await h;
  co_return frames;
}

TEST(DebugLifecycle, ATaskCreatedInTheLoopKnowsItsCreationStack) {
  const std::vector<StackFrame> frames = run_debug(creation_frames_of_a_spawned_task());
  Warning as_finding{WarningKind::kNeverAwaited, "", frames};
  EXPECT_TRUE(has_frame(as_finding, "value(int)"));
  EXPECT_TRUE(has_frame(as_finding, "creation_frames_of_a_spawned_task()"));
}

// Where the warm-up of the symbolizer finds its stack: a function findings will name.
[[gnu::noinline]] std::vector<std::uintptr_t> stack_to_warm_up() {
  std::array<std::uintptr_t, 32> stack{};
  const std::size_t depth = probes::capture_stack(stack);
  std::vector<std::uintptr_t> out(stack.begin(),
                                  stack.begin() + static_cast<std::ptrdiff_t>(depth));
  asm volatile("" ::: "memory");  // not a tail call: this frame stays on the stack
  return out;
}

TEST(DebugLifecycle, SymbolsWarmedUpOnAnotherThreadServeTheFindingsThatFollow) {
  const std::vector<std::uintptr_t> stack = stack_to_warm_up();
  const std::array code{reinterpret_cast<std::uintptr_t>(&stack_to_warm_up)};
  // On a thread of its own, as the stall watchdog does it, with the same addresses twice:
  // the second hand-over finds them known already and keeps the first's.
  std::thread([&] { detail::warm_up_symbols(stack, code); }).join();
  std::thread([&] { detail::warm_up_symbols(stack, code); }).join();
  const Warning as_finding{WarningKind::kStall, "", detail::user_frames(stack)};
  EXPECT_TRUE(has_frame(as_finding, "stack_to_warm_up()")) << testing::describe_frames(as_finding);
  EXPECT_TRUE(has_frame(as_finding, "DebugLifecycle_SymbolsWarmedUpOnAnotherThread"))
      << testing::describe_frames(as_finding);
  EXPECT_NE(detail::code_name(code[0]).find("stack_to_warm_up()"), std::string::npos)
      << detail::code_name(code[0]);
}

TEST(DebugLifecycle, TheMainTaskCreatedBeforeRunHasNoCreationStack) {
  auto amain = []() -> Task<bool> {
    co_return detail::creation_stack(*current_loop().current_task()).empty();
  };
  EXPECT_TRUE(run_debug(amain()));
}

TEST(DebugLifecycle, WithoutDebugModeNoCreationStackIsCaptured) {
  testing::unset_debug_environment();
  auto amain = []() -> Task<bool> {
    auto h = spawn(value(1));
    const bool empty = detail::creation_stack(*h.promise_ptr()).empty();
    co_await h;
    co_return empty&& h.promise_ptr()->debug_id_ == 0;
  };
  EXPECT_TRUE(testing::run_manual(amain()));
}

Task<bool> spawns_many_from_one_line() {
  std::vector<TaskHandle<int>> handles;
  for (int i = 0; i < 100; ++i) {
    handles.push_back(spawn(value(i)));
  }
  const auto first = detail::creation_stack(*handles.front().promise_ptr());
  const auto last = detail::creation_stack(*handles.back().promise_ptr());
  co_await gather(std::move(handles));
  co_return !first.empty() && first.data() == last.data();  // one stack, stored once
}

TEST(DebugLifecycle, TasksCreatedByOneLineShareOneStoredStack) {
  EXPECT_TRUE(run_debug(spawns_many_from_one_line()));
}

// A plain function that makes a task: its callers tell the stacks apart.
[[gnu::noinline]] Task<int> make_value(int v) {
  return value(v);
}

Task<bool> creates_through_a_helper_from_two_lines() {
  auto a = spawn(make_value(1));
  auto b = spawn(make_value(2));
  const auto stack_a = detail::creation_stack(*a.promise_ptr());
  const auto stack_b = detail::creation_stack(*b.promise_ptr());
  co_await a;
  co_await b;
  co_return !stack_a.empty() && !stack_b.empty() && stack_a.data() != stack_b.data();
}

TEST(DebugLifecycle, TasksCreatedThroughAHelperFromTwoLinesHaveTwoStacks) {
  EXPECT_TRUE(run_debug(creates_through_a_helper_from_two_lines()));
}

Task<void> ignores_cancellation() {
  for (;;) {
    try {
      co_await sleep(1h);
    } catch (const CancelledError&) {  // NOLINT(bugprone-empty-catch): the mistake under test
    }
  }
}

Task<void> leaves_a_stubborn_task() {
  (void)spawn(ignores_cancellation(), "stubborn");
  co_await sleep(0ms);
}

TEST(DebugLifecycle, ATaskDestroyedWithTheLoopIsNamedWithItsCreationStack) {
  WarningRecorder warnings{WarningKind::kDestroyedPending};
  run_debug(leaves_a_stubborn_task());
  ASSERT_EQ(warnings.count(WarningKind::kDestroyedPending), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_EQ(finding.message,
            "Task was destroyed but it is pending: task 'stubborn' (coroutine "
            "loopscope::(anonymous namespace)::ignores_cancellation())");
  EXPECT_TRUE(has_frame(finding, "ignores_cancellation()"));
  EXPECT_TRUE(has_frame(finding, "leaves_a_stubborn_task()"));
}

Task<int> after(std::chrono::milliseconds d, int v) {
  co_await sleep(d);
  co_return v;
}

Task<void> drops_an_unjoined_group() {
  TaskHandle<int> h;
  {
    TaskGroup tg;
    h = tg.spawn(after(1h, 1));
  }
  EXPECT_THROW(co_await h, CancelledError);
}

TEST(DebugLifecycle, AnUnjoinedTaskGroupNamesItsPendingChildAndWhereItWasCreated) {
  WarningRecorder warnings{WarningKind::kDestroyedPending};
  run_debug(drops_an_unjoined_group());
  ASSERT_EQ(warnings.count(WarningKind::kDestroyedPending), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_NE(finding.message.find("TaskGroup destroyed with 1 pending task(s)"), std::string::npos);
  EXPECT_NE(finding.message.find("(coroutine loopscope::(anonymous namespace)::after("),
            std::string::npos);
  EXPECT_TRUE(has_frame(finding, "after("));
  EXPECT_TRUE(has_frame(finding, "drops_an_unjoined_group()"));
}

Task<void> fails_later() {
  co_await sleep(1ms);
  throw std::runtime_error("child failed");
}

Task<void> never_looks_at_the_failure() {
  (void)spawn(fails_later());
  co_await sleep(2ms);
}

TEST(DebugLifecycle, AnExceptionNeverRetrievedNamesWhereTheTaskWasCreated) {
  WarningRecorder warnings{WarningKind::kExceptionNeverRetrieved};
  run_debug(never_looks_at_the_failure());
  ASSERT_EQ(warnings.count(WarningKind::kExceptionNeverRetrieved), 1);
  const Warning finding = warnings.all().at(0);
  EXPECT_NE(finding.message.find("std::runtime_error: child failed"), std::string::npos);
  EXPECT_TRUE(has_frame(finding, "fails_later()"));
  EXPECT_TRUE(has_frame(finding, "never_looks_at_the_failure()"));
}

}  // namespace
}  // namespace loopscope
