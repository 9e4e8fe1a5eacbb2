// Outcome<T>: the settled result of a task, a value or an exception (what
// gather_settled returns, like asyncio.gather(..., return_exceptions=True)).
#pragma once

#include <loopscope/errors.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace loopscope {

template <class T>
class Outcome {
 public:
  static Outcome success(T value) {
    Outcome o;
    o.value_.emplace(std::move(value));
    return o;
  }
  static Outcome failure(const std::exception_ptr& e) {
    Outcome o;
    o.exception_ = e;
    return o;
  }

  [[nodiscard]] bool has_value() const noexcept { return value_.has_value(); }
  [[nodiscard]] bool has_exception() const noexcept { return exception_ != nullptr; }
  // True if the task was cancelled (the exception is a CancelledError).
  [[nodiscard]] bool cancelled() const noexcept;
  [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }
  // The value; rethrows the exception if there is one.
  T& value() & {
    rethrow_if_failed();
    return *value_;
  }
  const T& value() const& {
    rethrow_if_failed();
    return *value_;
  }
  T&& value() && {
    rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  void rethrow_if_failed() const {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
  }
  std::optional<T> value_;
  std::exception_ptr exception_;
};

template <>
class Outcome<void> {
 public:
  static Outcome success() { return {}; }
  static Outcome failure(const std::exception_ptr& e) {
    Outcome o;
    o.exception_ = e;
    return o;
  }
  [[nodiscard]] bool has_value() const noexcept { return exception_ == nullptr; }
  [[nodiscard]] bool has_exception() const noexcept { return exception_ != nullptr; }
  [[nodiscard]] bool cancelled() const noexcept;
  [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }
  void value() const {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
  }

 private:
  std::exception_ptr exception_;
};

namespace detail {
bool is_cancellation(const std::exception_ptr& e) noexcept;
}  // namespace detail

template <class T>
bool Outcome<T>::cancelled() const noexcept {
  return detail::is_cancellation(exception_);
}
inline bool Outcome<void>::cancelled() const noexcept {
  return detail::is_cancellation(exception_);
}

}  // namespace loopscope
