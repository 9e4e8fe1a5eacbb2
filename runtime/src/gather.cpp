#include <loopscope/gather.hpp>

namespace loopscope::detail {

Task<void> join_tasks(std::vector<PromiseBase*> tasks, bool fail_fast) {
  bool waiter_cancelled = false;
  PromiseBase* failure = nullptr;
  try {
    WaitSet wait(tasks, fail_fast ? WaitMode::kFirstFailure : WaitMode::kAll);
    co_await wait;
    failure = wait.first_failure();
  } catch (const CancelledError&) {
    waiter_cancelled = true;
  }
  if (waiter_cancelled || failure != nullptr) {
    for (PromiseBase* task : tasks) {
      task->cancel();  // a no-op for the finished ones
    }
    // Structured: nothing gather started outlives it.
    WaitSet rest(tasks, WaitMode::kAll);
    co_await rest;
  }
  if (waiter_cancelled || failure != nullptr) {
    for (PromiseBase* task : tasks) {
      task->exception_retrieved_ = true;  // reported through gather (only the first rethrown)
    }
  }
  if (waiter_cancelled) {
    throw CancelledError{};
  }
  if (failure != nullptr) {
    std::rethrow_exception(failure->exception_);
  }
}

}  // namespace loopscope::detail
