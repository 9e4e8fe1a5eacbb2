// The loopscope runtime: an asyncio-style event loop for C++20 coroutines.
//
//   #include <loopscope/loopscope.hpp>
//   namespace ls = loopscope;
//
// See docs/ for the user guide and runtime/README.md for a tour of the files.
#pragma once

#include <loopscope/async_generator.hpp>
#include <loopscope/clock.hpp>
#include <loopscope/condition.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/event.hpp>
#include <loopscope/gather.hpp>
#include <loopscope/lock.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/options.hpp>
#include <loopscope/outcome.hpp>
#include <loopscope/queue.hpp>
#include <loopscope/run.hpp>
#include <loopscope/semaphore.hpp>
#include <loopscope/shield.hpp>
#include <loopscope/sleep.hpp>
#include <loopscope/task.hpp>
#include <loopscope/task_group.hpp>
#include <loopscope/task_handle.hpp>
#include <loopscope/tcp.hpp>
#include <loopscope/thread_pool.hpp>
#include <loopscope/timeout.hpp>
#include <loopscope/to_thread.hpp>
#include <loopscope/wait.hpp>
