// UniqueFunction: a move-only `void()` callable, for job queues that must accept callables
// owning move-only state (std::function needs copyable targets, and C++20 has no
// std::move_only_function).
//
// A small callable that is nothrow-movable lives inside the object, so queueing it allocates
// nothing (to_thread's job, a single shared_ptr, is one); larger ones go to the heap.
// Calling an empty UniqueFunction is a broken invariant (asserted).
//
// Thread-safety: none of its own, like any value; a queue hands it from thread to thread.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace loopscope::detail {

class UniqueFunction;

// What a UniqueFunction does with the callable it holds, one table per stored type.
struct UniqueFunctionOps {
  void (*invoke)(void* storage);
  // Move-constructs the callable at `to` from the one at `from` and destroys the latter.
  void (*relocate)(void* from, void* to) noexcept;
  void (*destroy)(void* storage) noexcept;
};

inline constexpr std::size_t kUniqueFunctionInlineSize = 4 * sizeof(void*);

template <class D>
inline constexpr bool kStoredInline =
    sizeof(D) <= kUniqueFunctionInlineSize &&
    alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;

template <class D>
inline constexpr UniqueFunctionOps kInlineOps{
    [](void* s) { (*std::launder(static_cast<D*>(s)))(); },
    [](void* from, void* to) noexcept {
      D* source = std::launder(static_cast<D*>(from));
      ::new (to) D(std::move(*source));
      source->~D();
    },
    [](void* s) noexcept { std::launder(static_cast<D*>(s))->~D(); },
};

// The heap case keeps a D* in the inline storage.
template <class D>
inline constexpr UniqueFunctionOps kHeapOps{
    [](void* s) { (**std::launder(static_cast<D**>(s)))(); },
    [](void* from, void* to) noexcept { ::new (to) D*(*std::launder(static_cast<D**>(from))); },
    [](void* s) noexcept { delete *std::launder(static_cast<D**>(s)); },
};

template <class F>
concept UniqueFunctionTarget =
    !std::is_same_v<std::remove_cvref_t<F>, UniqueFunction> &&
    std::is_invocable_v<std::decay_t<F>&> && std::is_constructible_v<std::decay_t<F>, F>;

class UniqueFunction {
 public:
  UniqueFunction() noexcept = default;
  // Implicit, like std::function, so that a lambda can be passed where a job is expected.
  template <UniqueFunctionTarget F>
  UniqueFunction(F&& f) {  // NOLINT(bugprone-forwarding-reference-overload): constrained
    using D = std::decay_t<F>;
    if constexpr (kStoredInline<D>) {
      ::new (static_cast<void*>(storage_.data())) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      ::new (static_cast<void*>(storage_.data())) D*(new D(std::forward<F>(f)));
      ops_ = &kHeapOps<D>;
    }
  }
  UniqueFunction(UniqueFunction&& other) noexcept { take(other); }
  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;
  ~UniqueFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  void operator()() {
    assert(ops_ != nullptr && "call of an empty UniqueFunction");
    ops_->invoke(storage_.data());
  }

  void reset() noexcept {
    if (ops_ != nullptr) {
      ops_->destroy(storage_.data());
      ops_ = nullptr;
    }
  }

 private:
  void take(UniqueFunction& other) noexcept {
    if (other.ops_ != nullptr) {
      other.ops_->relocate(other.storage_.data(), storage_.data());
      ops_ = std::exchange(other.ops_, nullptr);
    }
  }

  alignas(std::max_align_t) std::array<std::byte, kUniqueFunctionInlineSize> storage_{};
  const UniqueFunctionOps* ops_ = nullptr;
};

}  // namespace loopscope::detail
