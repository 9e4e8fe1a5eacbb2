// OutBuffer: the byte buffer the exporters write into. It hands out raw space for small
// writes (one capacity check per item, not per byte) and passes its contents on to the output
// stream in blocks of about 1 MiB, so that an export of any size holds one block in memory.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string_view>

namespace loopscope::viewer::detail {

class OutBuffer {
 public:
  static constexpr std::size_t kBlock = std::size_t{1} << 20;

  explicit OutBuffer(std::ostream& out) : out_(out) {}

  // Room for `n` more bytes; write them at the returned pointer, then commit().
  char* reserve(std::size_t n) {
    if (size_ + n > capacity_) [[unlikely]] {
      grow(n);
    }
    return data_.get() + size_;
  }
  void commit(std::size_t n) noexcept { size_ += n; }
  void append(std::string_view s) {
    std::memcpy(reserve(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  void append(char c) {
    *reserve(1) = c;
    ++size_;
  }
  void append_u64(std::uint64_t v) {
    char* p = reserve(20);
    size_ += static_cast<std::size_t>(std::to_chars(p, p + 20, v).ptr - p);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] char* data() noexcept { return data_.get(); }
  // Drops the bytes from `n` on (a message cut short before it was complete).
  void truncate(std::size_t n) noexcept { size_ = std::min(size_, n); }

  // Passes a full block on; call between items, never inside one.
  void maybe_flush() {
    if (size_ >= kBlock) {
      flush();
    }
  }
  void flush() {
    out_.write(data_.get(), static_cast<std::streamsize>(size_));
    size_ = 0;
    if (!out_) {
      throw std::runtime_error("writing the output failed");
    }
  }

 private:
  void grow(std::size_t n) {
    const std::size_t wanted = std::max({capacity_ * 2, size_ + n, 2 * kBlock});
    auto bigger = std::make_unique<char[]>(wanted);  // NOLINT(modernize-avoid-c-arrays)
    if (size_ != 0) {
      std::memcpy(bigger.get(), data_.get(), size_);
    }
    data_ = std::move(bigger);
    capacity_ = wanted;
  }

  std::ostream& out_;
  std::unique_ptr<char[]> data_;  // NOLINT(modernize-avoid-c-arrays): uninitialized storage
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace loopscope::viewer::detail
