#include <loopscope/errors.hpp>
#include <loopscope/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <new>
#include <pthread.h>
#include <string>

namespace loopscope {

namespace {

// Runs one job; what it throws is reported, as asyncio reports an exception in a callback.
void run_job(detail::UniqueFunction& job) noexcept {
  try {
    job();
  } catch (...) {
    std::fprintf(stderr, "loopscope: error: exception in a thread pool job: %s\n",
                 detail::describe_exception(std::current_exception()).c_str());
  }
}

// asyncio's default executor size: enough threads for blocking I/O on a small machine,
// bounded so that a large one does not start hundreds.
std::size_t asyncio_default_size() {
  const unsigned cores = std::thread::hardware_concurrency();  // 0 when unknown
  return std::min<std::size_t>(32, static_cast<std::size_t>(cores) + 4);
}

constinit std::mutex g_default_mutex;
constinit std::atomic<ThreadPool*> g_default_pool{nullptr};
constinit std::size_t g_default_size = 0;  // 0: asyncio_default_size()

}  // namespace

ThreadPool::ThreadPool(std::size_t size) {
  if (size == 0) {
    throw Error("ThreadPool needs at least one thread");
  }
  workers_.reserve(size);
  try {
    for (std::size_t i = 0; i < size; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  } catch (...) {
    stop_and_join();  // the threads already started must not outlive a pool never built
    throw;
  }
}

ThreadPool::~ThreadPool() {
  if (fork_.in_child()) {
    // The workers exist in the parent only. Destroying the condition variable they waited
    // on would wait for them forever, and the lock may be held by one of them: both are
    // replaced by new ones, whose destruction is then plain. Queued jobs are dropped.
    for (std::thread& worker : workers_) {
      probes::abandon(worker);
    }
    new (&mutex_) std::mutex;
    new (&wake_) std::condition_variable;
    return;
  }
  const auto self = std::this_thread::get_id();
  for (const std::thread& worker : workers_) {
    if (worker.get_id() == self) {
      std::fputs("loopscope: fatal: a ThreadPool destroyed by one of its own jobs\n", stderr);
      std::terminate();
    }
  }
  stop_and_join();
}

void ThreadPool::push(detail::UniqueFunction job) {
  if (fork_.in_child()) {
    throw Error(
        "ThreadPool used in a forked child: its worker threads exist in the parent only "
        "(make a new pool after fork(); to_thread's default pool is made anew)");
  }
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ThreadPool::stop_and_join() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) {
    worker.join();
  }
  workers_.clear();
}

void ThreadPool::work() noexcept {
  // Linux limits thread names to 15 characters.
  pthread_setname_np(pthread_self(), "loopscope-pool");
  for (;;) {
    detail::UniqueFunction job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) {
        return;  // stopping, and every queued job has been taken
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    run_job(job);
    // `job` is destroyed here, outside the lock: its captures may be costly to destroy.
  }
}

namespace {

// In a forked child: the parent's default pool has no workers here, so the child gets a pool
// of its own on its next to_thread. The lock may have been held by a thread that is gone.
void forget_default_pool_in_child() noexcept {
  new (&g_default_mutex) std::mutex;
  g_default_pool.store(nullptr, std::memory_order_relaxed);  // the parent's copy is leaked
}

}  // namespace

ThreadPool& default_thread_pool() {
  static const bool at_fork = pthread_atfork(nullptr, nullptr, forget_default_pool_in_child) == 0;
  (void)at_fork;
  if (ThreadPool* pool = g_default_pool.load(std::memory_order_acquire)) {
    return *pool;
  }
  std::lock_guard lock(g_default_mutex);
  ThreadPool* pool = g_default_pool.load(std::memory_order_relaxed);
  if (pool == nullptr) {
    // Deliberately never deleted (see thread_pool.hpp); still reachable, so not a leak to
    // LeakSanitizer.
    pool = new ThreadPool(g_default_size != 0 ? g_default_size : asyncio_default_size());
    g_default_pool.store(pool, std::memory_order_release);
  }
  return *pool;
}

void set_default_thread_pool_size(std::size_t size) {
  if (size == 0) {
    throw Error("set_default_thread_pool_size(): the pool needs at least one thread");
  }
  std::lock_guard lock(g_default_mutex);
  if (g_default_pool.load(std::memory_order_relaxed) != nullptr) {
    throw Error(
        "set_default_thread_pool_size() called after the default thread pool was created "
        "(by the first to_thread): call it before");
  }
  g_default_size = size;
}

}  // namespace loopscope
