// run(): the single bridge from synchronous code to the event loop (asyncio.run).
//
// Creates a loop on the calling thread, runs `main` as its first task until it finishes,
// then cancels every task still pending and lets them finish, destroys the loop and returns
// main's value (or rethrows its exception). Throws Error if called while a loop is running
// on this thread (a nested run; await the task instead).
//
//   int main() { return ls::run(amain(), {.debug = true}); }
#pragma once

#include <loopscope/loop.hpp>
#include <loopscope/options.hpp>
#include <loopscope/source_location.hpp>
#include <loopscope/task.hpp>
#include <loopscope/task_handle.hpp>

#include <type_traits>
#include <utility>

namespace loopscope {

template <class T>
T run(Task<T> main, Options options = {}, SourceLocation site = SourceLocation::current()) {
  Loop loop(apply_environment(std::move(options)));
  TaskHandle<T> handle = spawn(std::move(main), site);
  try {
    loop.run_until_complete(handle.promise_ptr());
  } catch (...) {
    loop.cancel_and_drain();
    throw;
  }
  loop.cancel_and_drain();
  if constexpr (std::is_void_v<T>) {
    handle.promise_ptr()->result();
  } else {
    return detail::take_task_result(*handle.promise_ptr());
  }
}

}  // namespace loopscope
