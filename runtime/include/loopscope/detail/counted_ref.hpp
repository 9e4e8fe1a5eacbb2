// CountedRef<T>: an intrusive, non-atomic counted reference.
//
// The TCP objects keep their state on the heap, shared by the user's handle (TcpStream,
// TcpListener, TcpServer) and by every operation running on it, so that moving, closing or
// destroying the handle while a task is suspended in an operation never leaves that task
// with a dangling pointer. T provides add_ref() and release() (which deletes at zero). The
// count is not atomic: these objects belong to one loop's thread.
#pragma once

#include <utility>

namespace loopscope::detail {

template <class T>
class CountedRef {
 public:
  CountedRef() noexcept = default;
  // Takes a new reference to `object` (which may be null).
  explicit CountedRef(T* object) noexcept : object_(object) {
    if (object_ != nullptr) {
      object_->add_ref();
    }
  }
  CountedRef(const CountedRef& other) noexcept : CountedRef(other.object_) {}
  CountedRef(CountedRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  CountedRef& operator=(const CountedRef& other) noexcept {
    CountedRef copy(other);
    std::swap(object_, copy.object_);
    return *this;
  }
  CountedRef& operator=(CountedRef&& other) noexcept {
    CountedRef taken(std::move(other));
    std::swap(object_, taken.object_);
    return *this;
  }
  ~CountedRef() {
    if (object_ != nullptr) {
      object_->release();
    }
  }

  T* operator->() const noexcept { return object_; }
  T& operator*() const noexcept { return *object_; }
  [[nodiscard]] T* get() const noexcept { return object_; }
  explicit operator bool() const noexcept { return object_ != nullptr; }

 private:
  T* object_ = nullptr;
};

}  // namespace loopscope::detail
