// ThreadPool: a fixed set of worker threads that run submitted jobs in FIFO order, the
// executor behind to_thread (asyncio's default ThreadPoolExecutor).
//
//   ls::ThreadPool pool{4};
//   pool.submit([buffer = std::move(buffer)] { write_to_disk(buffer); });
//   auto n = co_await ls::run_in_executor(pool, count_words, path);   // see to_thread.hpp
//
// Jobs start in the order they were submitted; with more than one worker they may finish in
// any order. Jobs may be move-only. A job that throws is reported on stderr and its worker
// carries on: the pool has nobody to hand the exception to (to_thread catches it in the job
// and rethrows it in the awaiting task). Workers are named "loopscope-pool", so that they are
// recognisable in a debugger or in top -H.
//
// Lifetime: the destructor lets the workers finish every job still queued (and any job those
// jobs submit), then joins them: it blocks until the queue is empty. It must not run on one
// of the pool's own workers, which would wait for itself (the process is terminated with a
// message instead).
//
// default_thread_pool() is the process-wide pool that to_thread uses. It is created on first
// use with min(32, hardware_concurrency + 4) workers, asyncio's default executor size, unless
// set_default_thread_pool_size() chose another size before. It is never destroyed: exiting
// never waits for a job stuck in a blocking call, and no static destructor can find it gone.
//
// Thread-safety: submit() and size() may be called from any thread, concurrently, including
// from the pool's own jobs.
#pragma once

#include <loopscope/detail/unique_function.hpp>
#include <loopscope/probes/fork.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace loopscope {

class ThreadPool {
 public:
  // Starts `size` workers; throws Error if size is 0.
  explicit ThreadPool(std::size_t size);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ThreadPool(ThreadPool&&) = delete;
  ThreadPool& operator=(ThreadPool&&) = delete;
  // Runs the jobs still queued, then joins the workers.
  ~ThreadPool();

  // Queues `job` (any callable taking no arguments, move-only ones included) to run on a
  // worker. Never blocks beyond taking the queue's lock. Throws Error in a process forked
  // after the pool was made, whose workers did not survive fork() (the default pool is made
  // anew there instead).
  template <class F>
  requires detail::UniqueFunctionTarget<F>
  void submit(F&& job) { push(detail::UniqueFunction(std::forward<F>(job))); }

  // The number of workers.
  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

 private:
  void push(detail::UniqueFunction job);
  void work() noexcept;
  void stop_and_join() noexcept;

  // In a forked child the workers are gone: submit() throws there, and the destructor
  // leaves the workers (and the lock and condition they may have held) alone.
  probes::ForkGuard fork_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<detail::UniqueFunction> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// The pool that to_thread() runs its jobs on; created on first use.
ThreadPool& default_thread_pool();

// Sets the number of workers of the default pool. Throws Error if `size` is 0 or if the
// default pool already exists (call it at the start of main, before the first to_thread).
void set_default_thread_pool_size(std::size_t size);

}  // namespace loopscope
