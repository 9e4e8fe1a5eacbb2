// Loop::run_step, shared by the loop's plain paths (loop.cpp) and its traced ones
// (loop_trace.cpp) so that both inline it: a call per step costs a traced yield a sixth of
// what tracing adds to it.
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/loop.hpp>

#include <coroutine>
#include <utility>

namespace loopscope {

// Resumes the task, then every coroutine handed over by symmetric transfer (see
// detail::t_next_transfer), until the task suspends or finishes.
inline void Loop::run_step(detail::PromiseBase* task) {
  current_ = task;
  std::coroutine_handle<> next = task->continuation_;
  do {
    next.resume();
    next = std::exchange(detail::t_next_transfer, nullptr);
  } while (next);
  current_ = nullptr;
}

}  // namespace loopscope
