// FlatMap: a hash map from 32-bit ids (task ids) to small values, for the per-event lookups of
// the analysis and the exports. Open addressing with linear probing in one array keeps a
// lookup to one or two cache lines where std::unordered_map chases a node pointer; with
// hundreds of thousands of live tasks that is most of the cost of a pass.
//
// Erasing shifts later entries of the probe run back (no tombstones). Pointers returned by
// find() and try_emplace() stay valid until the next insertion or erasure.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace loopscope::viewer::detail {

template <class T>
class FlatMap {
 public:
  T* find(std::uint32_t key) noexcept {
    if (size_ == 0) {
      return nullptr;
    }
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) {
        return &slots_[i].value;
      }
      if (slots_[i].key == kEmpty) {
        return nullptr;
      }
    }
  }
  bool contains(std::uint32_t key) noexcept { return find(key) != nullptr; }

  // The value of `key`, inserted as `value` if absent; the bool says whether it was.
  std::pair<T*, bool> try_emplace(std::uint32_t key, T value = T{}) {
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
    }
    std::size_t i = slot(key);
    for (; slots_[i].key != kEmpty; i = (i + 1) & mask_) {
      if (slots_[i].key == key) {
        return {&slots_[i].value, false};
      }
    }
    slots_[i].key = key;
    slots_[i].value = std::move(value);
    ++size_;
    return {&slots_[i].value, true};
  }
  void insert_or_assign(std::uint32_t key, T value) {
    auto [at, added] = try_emplace(key);
    *at = std::move(value);
  }

  bool erase(std::uint32_t key) noexcept {
    if (size_ == 0) {
      return false;
    }
    std::size_t i = slot(key);
    for (; slots_[i].key != key; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        return false;
      }
    }
    // Backward shift: move later entries of the run into the hole when their home slot
    // allows it, so that lookups never stop early at an empty slot.
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].key == kEmpty) {
        break;
      }
      const std::size_t home = slot(static_cast<std::uint32_t>(slots_[j].key));
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
    }
    slots_[i] = Slot{};
    --size_;
    return true;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  template <class F>  // F: void(std::uint32_t key, T& value)
  void for_each(F&& f) {
    for (Slot& s : slots_) {
      if (s.key != kEmpty) {
        f(static_cast<std::uint32_t>(s.key), s.value);
      }
    }
  }
  void clear() {
    slots_.clear();
    mask_ = 0;
    size_ = 0;
  }

 private:
  static constexpr std::uint64_t kEmpty = UINT64_MAX;
  struct Slot {
    std::uint64_t key = kEmpty;  // a 32-bit key, or kEmpty
    T value{};
  };

  [[nodiscard]] std::size_t slot(std::uint32_t key) const noexcept {
    // Fibonacci hashing: consecutive ids land far apart.
    return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ull) >> 32) & mask_;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (Slot& s : old) {
      if (s.key != kEmpty) {
        try_emplace(static_cast<std::uint32_t>(s.key), std::move(s.value));
      }
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace loopscope::viewer::detail
