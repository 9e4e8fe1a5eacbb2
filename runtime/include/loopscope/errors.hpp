// loopscope errors.
//
// Every runtime error derives from loopscope::Error (a std::runtime_error), so
// `catch (const std::exception&)` sees them. CancelledError deliberately does NOT derive
// from std::exception: a generic handler must not swallow a cancellation by accident
// (asyncio made CancelledError a BaseException for the same reason). Catch it by name and
// re-throw it.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace loopscope {

// Base of all loopscope errors: misuse of the API and failed operations.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown at the suspension point of a task that was cancelled. Not a std::exception.
class CancelledError {
 public:
  [[nodiscard]] const char* what() const noexcept { return "task was cancelled"; }
};

// An operation was asked of an object in a state that does not allow it, such as
// TaskHandle::result() on a task that has not finished (asyncio.InvalidStateError).
class InvalidStateError : public Error {
 public:
  using Error::Error;
};

// timeout() expired before the awaited work finished; the work has been cancelled.
class TimeoutError : public Error {
 public:
  TimeoutError() : Error("operation timed out") {}
  using Error::Error;
};

// Queue::put_nowait() on a full queue (asyncio.QueueFull).
class QueueFull : public Error {
 public:
  using Error::Error;
};

// Queue::get_nowait() on an empty queue (asyncio.QueueEmpty).
class QueueEmpty : public Error {
 public:
  using Error::Error;
};

// A put to a queue that was shut down, or a get once it is also empty (asyncio.QueueShutDown).
class QueueShutDown : public Error {
 public:
  using Error::Error;
};

// TaskGroup::join() found failed children. exceptions() holds every failure, in the order
// the children failed; cancellations the group caused itself are not in it.
class TaskGroupError : public Error {
 public:
  explicit TaskGroupError(std::vector<std::exception_ptr> exceptions);
  [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept {
    return exceptions_;
  }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

namespace detail {
// "TypeName: message" for an exception, for warnings and TaskGroupError's text.
std::string describe_exception(const std::exception_ptr& e);
// What the exception `e` holds says (its what()), empty if it is not a std::exception.
std::string exception_message(const std::exception_ptr& e);
}  // namespace detail

}  // namespace loopscope
