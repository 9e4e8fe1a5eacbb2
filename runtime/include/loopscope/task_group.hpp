// TaskGroup: structured concurrency (asyncio.TaskGroup).
//
// Children are spawned into the group and the owner joins them. The first child that fails
// (with anything but CancelledError) makes the group cancel the other children at once;
// join() waits for every child and then throws TaskGroupError holding every failure (the
// cancellations the group caused itself are not failures). If the joining task is itself
// cancelled, the group cancels its children, waits for them, and join() throws
// CancelledError (or TaskGroupError if some child had failed).
//
//   ls::TaskGroup tg;
//   auto a = tg.spawn(fetch("a"));
//   auto b = tg.spawn(fetch("b"));
//   co_await tg.join();               // a and b are done here, or TaskGroupError
//
// Destroying a group whose children are still pending (join() never reached, say because
// the owner threw) cancels them and reports it (destroyed_pending).
//
// Thread-safety: a group belongs to the loop that was running when it was constructed.
#pragma once

#include <loopscope/detail/promise.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/source_location.hpp>
#include <loopscope/task.hpp>
#include <loopscope/task_handle.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <string_view>
#include <vector>

namespace loopscope {

// The group observes each child through the child's observer slot (PromiseBase::observer_),
// so membership costs the children no extra fields.
class TaskGroup : detail::CompletionNode {
 public:
  // Binds the group to the running loop; throws Error outside one.
  TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  TaskGroup(TaskGroup&&) = delete;
  TaskGroup& operator=(TaskGroup&&) = delete;
  ~TaskGroup();

  // Spawns `task` as a child. Throws Error once the group has been joined.
  template <class T>
  TaskHandle<T> spawn(Task<T> task, SourceLocation site = SourceLocation::current()) {
    check_open();
    TaskHandle<T> handle = loopscope::spawn(std::move(task), site);
    adopt(handle.promise_ptr());
    return handle;
  }
  template <class T>
  TaskHandle<T> spawn(Task<T> task, std::string_view name,
                      SourceLocation site = SourceLocation::current()) {
    TaskHandle<T> handle = spawn(std::move(task), site);
    handle.set_name(name);
    return handle;
  }

  // Suspends until every child has finished (see the class comment for what it throws).
  class JoinAwaiter : detail::WaitNode {
   public:
    explicit JoinAwaiter(TaskGroup* group) noexcept : group_(group) {}
    JoinAwaiter(const JoinAwaiter&) = delete;
    JoinAwaiter& operator=(const JoinAwaiter&) = delete;
    JoinAwaiter(JoinAwaiter&&) = delete;
    JoinAwaiter& operator=(JoinAwaiter&&) = delete;
    ~JoinAwaiter() {
      if (group_->joiner_ == this) {
        group_->joiner_ = nullptr;  // the frame is destroyed while joining
      }
    }
    [[nodiscard]] bool await_ready() const noexcept { return group_->pending_ == 0; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume();

   private:
    friend class TaskGroup;
    static void on_cancelled(detail::WaitNode* node);

    TaskGroup* group_;
    detail::PromiseBase* task_ = nullptr;
    bool cancelled_ = false;
  };
  [[nodiscard]] JoinAwaiter join();

  // Cancels every pending child.
  void cancel() noexcept;
  // Number of children that have not finished.
  [[nodiscard]] std::size_t pending() const noexcept { return pending_; }

 private:
  void check_open() const;
  void report_pending_children() const noexcept;
  void adopt(detail::PromiseBase* child) noexcept;
  void on_child_done(detail::PromiseBase* child) noexcept;
  void drop_finished_children() noexcept;
  static void child_done(detail::CompletionNode* node, detail::PromiseBase* child);

  Loop* loop_;
  // Children in spawn order, each with a reference held; finished ones are dropped in
  // batches so a long-lived group (a server's) does not grow without bound.
  std::vector<detail::PromiseBase*> children_;
  std::size_t pending_ = 0;
  std::vector<std::exception_ptr> errors_;
  JoinAwaiter* joiner_ = nullptr;
  bool aborting_ = false;
  bool join_started_ = false;
  bool joined_ = false;
};

}  // namespace loopscope
