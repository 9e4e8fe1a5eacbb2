// WaitSet: suspends the current task until a condition over a set of tasks holds. The
// building block of gather, gather_settled, wait and as_completed.
//
// Suspends unless the condition already holds. Resumed through the run queue by the
// completion that satisfies it. If the waiting task is cancelled, the wait ends at once
// and await_resume throws CancelledError; the tasks themselves are left alone (the
// combinators decide whether to cancel them).
#pragma once

#include <loopscope/detail/promise.hpp>

#include <coroutine>
#include <cstddef>
#include <span>
#include <vector>

namespace loopscope::detail {

enum class WaitMode : std::uint8_t {
  kAll,             // every task finished
  kFirstCompleted,  // any task finished
  kFirstException,  // any task failed (cancellation is not a failure here), or all finished
  kFirstFailure,    // any task failed or was cancelled, or all finished
};

class WaitSet : WaitNode, CompletionNode {
 public:
  WaitSet(std::span<PromiseBase* const> tasks, WaitMode mode) noexcept
      : tasks_(tasks), mode_(mode) {}
  WaitSet(const WaitSet&) = delete;
  WaitSet& operator=(const WaitSet&) = delete;
  WaitSet(WaitSet&&) = delete;
  WaitSet& operator=(WaitSet&&) = delete;
  ~WaitSet();

  [[nodiscard]] bool await_ready() const noexcept { return tasks_.empty(); }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() const;

  // The first task seen to fail (or be cancelled, in kFirstFailure mode), if any.
  [[nodiscard]] PromiseBase* first_failure() const noexcept { return first_failure_; }

 private:
  // For a task whose observer slot is already taken (by another WaitSet).
  struct Member : CompletionNode {
    WaitSet* set = nullptr;
    PromiseBase* task = nullptr;
  };
  [[nodiscard]] bool counts_as_failure(const PromiseBase* task) const noexcept;
  void watch(PromiseBase* task);
  void on_member_done(PromiseBase* task) noexcept;
  void detach_all() noexcept;
  static void slot_done(CompletionNode* node, PromiseBase* task);
  static void member_done(CompletionNode* node, PromiseBase* task);
  static void cancelled(WaitNode* node);

  std::span<PromiseBase* const> tasks_;
  WaitMode mode_;
  std::vector<Member> members_;  // sized once, on the first conflict: never reallocated
  std::size_t member_count_ = 0;
  std::size_t remaining_ = 0;
  PromiseBase* waiter_ = nullptr;
  PromiseBase* first_failure_ = nullptr;
  bool cancelled_ = false;
};

}  // namespace loopscope::detail
