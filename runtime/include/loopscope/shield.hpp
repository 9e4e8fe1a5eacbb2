// shield(task): await a task without passing the awaiter's cancellation on to it
// (asyncio.shield). If the awaiting task is cancelled, it gets CancelledError at once and
// the shielded task keeps running.
//
//   auto save = ls::spawn(save_state());
//   co_await ls::shield(save);
#pragma once

#include <loopscope/source_location.hpp>
#include <loopscope/task.hpp>
#include <loopscope/task_handle.hpp>

#include <utility>

namespace loopscope {

template <class T>
class Shielded {
 public:
  explicit Shielded(TaskHandle<T> handle) noexcept : handle_(std::move(handle)) {}
  auto operator co_await() const noexcept {
    return detail::TaskAwaiter<T, true>(handle_.promise_ptr());
  }
  [[nodiscard]] const TaskHandle<T>& handle() const noexcept { return handle_; }

 private:
  TaskHandle<T> handle_;
};

template <class T>
[[nodiscard]] Shielded<T> shield(TaskHandle<T> handle) {
  return Shielded<T>(std::move(handle));
}

// Spawns `task` (naming the caller's line as its spawn site) and shields it.
template <class T>
[[nodiscard]] Shielded<T> shield(Task<T> task, SourceLocation site = SourceLocation::current()) {
  return Shielded<T>(spawn(std::move(task), site));
}

}  // namespace loopscope
