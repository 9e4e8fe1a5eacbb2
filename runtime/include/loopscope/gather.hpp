// gather and gather_settled: run several tasks concurrently and collect their results in
// call order (asyncio.gather).
//
//   auto [a, b] = co_await ls::gather(fetch("a"), fetch("b"));       // std::tuple
//   std::vector<std::string> all = co_await ls::gather(std::move(tasks));
//   auto outcomes = co_await ls::gather_settled(std::move(tasks));  // value or exception each
//
// Arguments may be Tasks (spawned by gather) or TaskHandles of running tasks. A Task<void>
// contributes std::monostate to a tuple; gather over a vector of Task<void> returns void.
//
// gather: the first failure (an exception, or a child's cancellation) cancels the other
// tasks; once they have all finished it is rethrown. gather_settled never throws for a
// child's failure. If the gathering task is cancelled, every child is cancelled and waited
// for, then CancelledError is thrown. The children's exceptions count as retrieved.
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/wait_set.hpp>
#include <loopscope/outcome.hpp>
#include <loopscope/task.hpp>
#include <loopscope/task_handle.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace loopscope {

namespace detail {

template <class A>
struct GatherTraits;
template <class T>
struct GatherTraits<Task<T>> {
  using value_type = T;
};
template <class T>
struct GatherTraits<TaskHandle<T>> {
  using value_type = T;
};

template <class A>
concept Gatherable = requires {
  typename GatherTraits<std::remove_cvref_t<A>>::value_type;
};

template <class A>
using gather_value_t = typename GatherTraits<std::remove_cvref_t<A>>::value_type;

// void has no value: a tuple holds std::monostate in its place.
template <class T>
using tuple_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
TaskHandle<T> to_handle(Task<T> task) {
  return spawn(std::move(task));
}
template <class T>
TaskHandle<T> to_handle(TaskHandle<T> handle) {
  return handle;
}

// Waits for all `tasks`. With `fail_fast`, the first failure cancels the rest and is
// rethrown once they are all done. Cancellation of the waiter cancels every task.
Task<void> join_tasks(std::vector<PromiseBase*> tasks, bool fail_fast);

template <class T>
tuple_value_t<T> take_value(const TaskHandle<T>& handle) {
  if constexpr (std::is_void_v<T>) {
    handle.promise_ptr()->result();
    return {};
  } else {
    return take_task_result(*handle.promise_ptr());
  }
}

template <class T>
Outcome<T> take_outcome(const TaskHandle<T>& handle) {
  auto* p = handle.promise_ptr();
  if (p->exception_) {
    p->exception_retrieved_ = true;
    return Outcome<T>::failure(p->exception_);
  }
  if constexpr (std::is_void_v<T>) {
    return Outcome<T>::success();
  } else {
    return Outcome<T>::success(take_task_result(*p));
  }
}

template <class T>
std::vector<PromiseBase*> promises_of(const std::vector<TaskHandle<T>>& handles) {
  std::vector<PromiseBase*> out;
  out.reserve(handles.size());
  for (const auto& h : handles) {
    out.push_back(h.promise_ptr());
  }
  return out;
}

template <class T>
std::vector<TaskHandle<T>> spawn_all(std::vector<Task<T>> tasks) {
  std::vector<TaskHandle<T>> handles;
  handles.reserve(tasks.size());
  for (auto& t : tasks) {
    handles.push_back(spawn(std::move(t)));
  }
  return handles;
}

template <class... Hs>
Task<std::tuple<tuple_value_t<typename Hs::value_type>...>> gather_handles(bool fail_fast,
                                                                           Hs... handles) {
  // WORKAROUND(gcc-12, https://github.com/Naios/continuable/issues/67): a braced list inside
  // a co_await operand fails with "array used as initializer"; build the vector first.
  std::vector<PromiseBase*> tasks{handles.promise_ptr()...};
  co_await join_tasks(std::move(tasks), fail_fast);
  co_return std::tuple<tuple_value_t<typename Hs::value_type>...>{take_value(handles)...};
}

template <class... Hs>
Task<std::tuple<Outcome<typename Hs::value_type>...>> settle_handles(Hs... handles) {
  std::vector<PromiseBase*> tasks{handles.promise_ptr()...};  // WORKAROUND(gcc-12): as above
  co_await join_tasks(std::move(tasks), false);
  co_return std::tuple<Outcome<typename Hs::value_type>...>{take_outcome(handles)...};
}

}  // namespace detail

template <detail::Gatherable... As>
requires(sizeof...(As) > 0)
    Task<std::tuple<detail::tuple_value_t<detail::gather_value_t<As>>...>> gather(
        As... awaitables) {
  // The spawn order is the argument order (left to right in a braced list).
  return std::apply(
      [](auto... handles) { return detail::gather_handles(true, std::move(handles)...); },
      std::tuple{detail::to_handle(std::move(awaitables))...});
}

template <class T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> gather(
    std::vector<TaskHandle<T>> handles) {
  co_await detail::join_tasks(detail::promises_of(handles), true);
  if constexpr (std::is_void_v<T>) {
    for (const auto& h : handles) {
      h.promise_ptr()->exception_retrieved_ = true;
    }
  } else {
    std::vector<T> results;
    results.reserve(handles.size());
    for (const auto& h : handles) {
      results.push_back(detail::take_task_result(*h.promise_ptr()));
    }
    co_return results;
  }
}

template <class T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> gather(
    std::vector<Task<T>> tasks) {
  return gather(detail::spawn_all(std::move(tasks)));
}

template <detail::Gatherable... As>
requires(sizeof...(As) > 0) Task<std::tuple<Outcome<detail::gather_value_t<As>>...>> gather_settled(
    As... awaitables) {
  return std::apply([](auto... handles) { return detail::settle_handles(std::move(handles)...); },
                    std::tuple{detail::to_handle(std::move(awaitables))...});
}

template <class T>
Task<std::vector<Outcome<T>>> gather_settled(std::vector<TaskHandle<T>> handles) {
  co_await detail::join_tasks(detail::promises_of(handles), false);
  std::vector<Outcome<T>> outcomes;
  outcomes.reserve(handles.size());
  for (const auto& h : handles) {
    outcomes.push_back(detail::take_outcome(h));
  }
  co_return outcomes;
}

template <class T>
Task<std::vector<Outcome<T>>> gather_settled(std::vector<Task<T>> tasks) {
  return gather_settled(detail::spawn_all(std::move(tasks)));
}

}  // namespace loopscope
