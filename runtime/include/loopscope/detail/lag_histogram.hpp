// LagHistogram: the log-linear histogram behind Loop::lag_stats() (HdrHistogram's layout).
//
// Values (nanoseconds) below 2 * kSubBuckets are counted exactly; above, each power of two
// is cut into kSubBuckets buckets, so a percentile is known to within 1/16 of its value.
// Fixed size (about 8 KiB), no allocation per value; not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace loopscope::detail {

// A log-linear histogram of nanosecond values, laid out as HdrHistogram does: exact below
// 2 * kSubBuckets, then kSubBuckets buckets per power of two. Fixed size, no allocation.
class LagHistogram {
 public:
  void add(std::uint64_t value) noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  // The least value that `percent` percent of the samples do not exceed, as the highest value
  // of its bucket (at most max()); 0 without samples.
  [[nodiscard]] std::uint64_t percentile(double percent) const noexcept;

 private:
  static constexpr int kSubBits = 4;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = 2 * kSubBuckets + (64 - kSubBits - 1) * kSubBuckets;
  static std::size_t index_of(std::uint64_t value) noexcept;
  static std::uint64_t highest_in(std::size_t index) noexcept;

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

inline std::size_t LagHistogram::index_of(std::uint64_t value) noexcept {
  if (value < 2 * kSubBuckets) {
    return static_cast<std::size_t>(value);
  }
  const int exponent = static_cast<int>(std::bit_width(value)) - 1;  // >= kSubBits + 1
  const int shift = exponent - kSubBits;
  const std::uint64_t sub = (value >> shift) - kSubBuckets;
  return static_cast<std::size_t>(
      2 * kSubBuckets + static_cast<std::uint64_t>(exponent - kSubBits - 1) * kSubBuckets + sub);
}

inline std::uint64_t LagHistogram::highest_in(std::size_t index) noexcept {
  if (index < 2 * kSubBuckets) {
    return index;
  }
  const std::uint64_t past = index - 2 * kSubBuckets;
  const std::uint64_t shift = past / kSubBuckets + 1;
  const std::uint64_t lowest = (kSubBuckets + past % kSubBuckets) << shift;
  return lowest + ((std::uint64_t{1} << shift) - 1);
}

inline void LagHistogram::add(std::uint64_t value) noexcept {
  ++counts_[index_of(value)];
  ++count_;
  max_ = std::max(max_, value);
}

inline std::uint64_t LagHistogram::percentile(double percent) const noexcept {
  if (count_ == 0) {
    return 0;
  }
  const double wanted = std::ceil(static_cast<double>(count_) * percent / 100.0);
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min(highest_in(i), max_);
    }
  }
  return max_;
}

}  // namespace loopscope::detail
