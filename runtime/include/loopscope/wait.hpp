// wait and as_completed: finer control over a set of running tasks (asyncio.wait and
// asyncio.as_completed).
//
//   auto [done, pending] = co_await ls::wait(handles, ls::WaitFor::FirstCompleted);
//   auto it = ls::as_completed(handles);
//   while (auto h = co_await it.next()) { use(h->result()); }
//
// Neither cancels anything: tasks left pending keep running. Cancelling the waiting task
// ends the wait with CancelledError.
#pragma once

#include <loopscope/async_generator.hpp>
#include <loopscope/detail/wait_set.hpp>
#include <loopscope/gather.hpp>
#include <loopscope/task.hpp>
#include <loopscope/task_handle.hpp>

#include <vector>

namespace loopscope {

enum class WaitFor : std::uint8_t {
  FirstCompleted,  // return as soon as any task finishes
  FirstException,  // return when any task fails, or when all have finished
  AllCompleted,    // return when all have finished
};

template <class T>
struct WaitResult {
  std::vector<TaskHandle<T>> done;     // in the order given
  std::vector<TaskHandle<T>> pending;  // in the order given
};

template <class T>
Task<WaitResult<T>> wait(std::vector<TaskHandle<T>> handles, WaitFor mode = WaitFor::AllCompleted) {
  const std::vector<detail::PromiseBase*> tasks = detail::promises_of(handles);
  detail::WaitSet set(tasks, mode == WaitFor::FirstCompleted   ? detail::WaitMode::kFirstCompleted
                             : mode == WaitFor::FirstException ? detail::WaitMode::kFirstException
                                                               : detail::WaitMode::kAll);
  co_await set;
  WaitResult<T> result;
  for (auto& h : handles) {
    (h.done() ? result.done : result.pending).push_back(std::move(h));
  }
  co_return result;
}

// Yields the handles as their tasks finish (those finishing in the same loop iteration in
// the order given).
template <class T>
AsyncGenerator<TaskHandle<T>> as_completed(std::vector<TaskHandle<T>> handles) {
  while (!handles.empty()) {
    {
      const std::vector<detail::PromiseBase*> tasks = detail::promises_of(handles);
      detail::WaitSet set(tasks, detail::WaitMode::kFirstCompleted);
      co_await set;
    }
    std::vector<TaskHandle<T>> still_pending;
    std::vector<TaskHandle<T>> finished;
    for (auto& h : handles) {
      (h.done() ? finished : still_pending).push_back(std::move(h));
    }
    handles = std::move(still_pending);
    for (auto& h : finished) {
      co_yield std::move(h);
    }
  }
}

}  // namespace loopscope
