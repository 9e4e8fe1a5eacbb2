// gather and gather_settled: run several tasks concurrently and collect their results in
// call order (asyncio.gather).
//
//   auto [a, b] = co_await ls::gather(fetch("a"), fetch("b"));       // std::tuple
//   std::vector<std::string> all = co_await ls::gather(std::move(tasks));
//   auto outcomes = co_await ls::gather_settled(std::move(tasks));  // value or exception each
//
// Arguments may be Tasks (spawned by gather) or TaskHandles of running tasks. A Task<void>
// contributes std::monostate to a tuple; gather over a vector of Task<void> returns void.
// The tasks gather spawns name the caller's line as their spawn site in traces and reports
// (up to eight awaitables; a longer list names gather.hpp, as a variadic call cannot take a
// defaulted SourceLocation after its arguments).
//
// gather: the first failure (an exception, or a child's cancellation) cancels the other
// tasks; once they have all finished it is rethrown. gather_settled never throws for a
// child's failure. If the gathering task is cancelled, every child is cancelled and waited
// for, then CancelledError is thrown. The children's exceptions count as retrieved.
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/detail/wait_set.hpp>
#include <loopscope/outcome.hpp>
#include <loopscope/source_location.hpp>
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
TaskHandle<T> to_handle(Task<T> task, const SourceLocation& site) {
  return spawn(std::move(task), site);
}
template <class T>
TaskHandle<T> to_handle(TaskHandle<T> handle, const SourceLocation& /*site*/) {
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
std::vector<TaskHandle<T>> spawn_all(std::vector<Task<T>> tasks, const SourceLocation& site) {
  std::vector<TaskHandle<T>> handles;
  handles.reserve(tasks.size());
  for (auto& t : tasks) {
    handles.push_back(spawn(std::move(t), site));
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

// Spawns the Tasks among `awaitables` (at `site`), in argument order, then gathers.
template <class... As>
Task<std::tuple<tuple_value_t<gather_value_t<As>>...>> gather_at(const SourceLocation& site,
                                                                 As... awaitables) {
  // The spawn order is the argument order (left to right in a braced list).
  return std::apply([](auto... handles) { return gather_handles(true, std::move(handles)...); },
                    std::tuple{to_handle(std::move(awaitables), site)...});
}

template <class... As>
Task<std::tuple<Outcome<gather_value_t<As>>...>> gather_settled_at(const SourceLocation& site,
                                                                   As... awaitables) {
  return std::apply([](auto... handles) { return settle_handles(std::move(handles)...); },
                    std::tuple{to_handle(std::move(awaitables), site)...});
}

}  // namespace detail

// gather(a, b, ...) for one to eight awaitables, each overload taking the caller's line.
template <detail::Gatherable A1>
auto gather(A1 a1, SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1));
}
template <detail::Gatherable A1, detail::Gatherable A2>
auto gather(A1 a1, A2 a2, SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3>
auto gather(A1 a1, A2 a2, A3 a3, SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2), std::move(a3));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4>
auto gather(A1 a1, A2 a2, A3 a3, A4 a4, SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5>
auto gather(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                           std::move(a5));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5, detail::Gatherable A6>
auto gather(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6,
            SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                           std::move(a5), std::move(a6));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5, detail::Gatherable A6,
          detail::Gatherable A7>
auto gather(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7,
            SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                           std::move(a5), std::move(a6), std::move(a7));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5, detail::Gatherable A6,
          detail::Gatherable A7, detail::Gatherable A8>
auto gather(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8,
            SourceLocation site = SourceLocation::current()) {
  return detail::gather_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                           std::move(a5), std::move(a6), std::move(a7), std::move(a8));
}
template <detail::Gatherable... As>
requires(sizeof...(As) > 8) auto gather(As... awaitables) {
  return detail::gather_at(SourceLocation::current(), std::move(awaitables)...);
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
    std::vector<Task<T>> tasks, SourceLocation site = SourceLocation::current()) {
  return gather(detail::spawn_all(std::move(tasks), site));
}

// gather_settled(a, b, ...), overloaded by arity like gather.
template <detail::Gatherable A1>
auto gather_settled(A1 a1, SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1));
}
template <detail::Gatherable A1, detail::Gatherable A2>
auto gather_settled(A1 a1, A2 a2, SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3>
auto gather_settled(A1 a1, A2 a2, A3 a3, SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2), std::move(a3));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4>
auto gather_settled(A1 a1, A2 a2, A3 a3, A4 a4, SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2), std::move(a3),
                                   std::move(a4));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5>
auto gather_settled(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5,
                    SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                                   std::move(a5));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5, detail::Gatherable A6>
auto gather_settled(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6,
                    SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                                   std::move(a5), std::move(a6));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5, detail::Gatherable A6,
          detail::Gatherable A7>
auto gather_settled(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7,
                    SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                                   std::move(a5), std::move(a6), std::move(a7));
}
template <detail::Gatherable A1, detail::Gatherable A2, detail::Gatherable A3,
          detail::Gatherable A4, detail::Gatherable A5, detail::Gatherable A6,
          detail::Gatherable A7, detail::Gatherable A8>
auto gather_settled(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8,
                    SourceLocation site = SourceLocation::current()) {
  return detail::gather_settled_at(site, std::move(a1), std::move(a2), std::move(a3), std::move(a4),
                                   std::move(a5), std::move(a6), std::move(a7), std::move(a8));
}
template <detail::Gatherable... As>
requires(sizeof...(As) > 8) auto gather_settled(As... awaitables) {
  return detail::gather_settled_at(SourceLocation::current(), std::move(awaitables)...);
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
Task<std::vector<Outcome<T>>> gather_settled(std::vector<Task<T>> tasks,
                                             SourceLocation site = SourceLocation::current()) {
  return gather_settled(detail::spawn_all(std::move(tasks), site));
}

}  // namespace loopscope
