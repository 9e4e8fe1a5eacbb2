// ClockMap and Distribution: the two numeric tools the analyses share.
//
// ClockMap turns a trace's raw ticks into CLOCK_MONOTONIC nanoseconds. With the
// monotonic-ns tick source ticks already are nanoseconds. With the TSC it interpolates
// linearly between the trace's clock_sync points around a tick value and extrapolates from
// the nearest two outside them; durations use the average rate over all points, which differs
// from the local one by parts per million on an invariant TSC. With fewer than two TSC points
// the map is not calibrated and counts one tick as one nanosecond.
//
// Distribution collects samples (step durations, lag) for percentiles in bounded memory: the
// first 256 samples are kept exactly, after that they move into log-linear buckets with 64
// sub-buckets per power of two (values below 128 stay exact, larger ones lose under 1.6%).
// Percentiles use the nearest-rank definition.
//
// Neither is thread-safe; both are values.
#pragma once

#include <loopscope/probes/clock.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace loopscope::viewer {

class ClockMap {
 public:
  ClockMap() = default;
  explicit ClockMap(probes::TickSource source) : source_(source) {}

  void set_source(probes::TickSource source) noexcept { source_ = source; }
  // Points may come in any order (they are sorted on first use); of several points with the
  // same ticks the first is kept.
  void add(probes::ClockSync point);

  [[nodiscard]] probes::TickSource source() const noexcept { return source_; }
  [[nodiscard]] bool calibrated() const noexcept;
  [[nodiscard]] std::uint64_t to_ns(std::uint64_t ticks) const noexcept;
  [[nodiscard]] double ns_per_tick() const noexcept;
  [[nodiscard]] std::uint64_t duration_ns(std::uint64_t ticks) const noexcept;

 private:
  void sort() const;

  probes::TickSource source_ = probes::TickSource::kMonotonicNs;
  // Sorted by ticks with distinct ticks, unless unsorted_; appending stays O(1) so that a
  // hostile trace with millions of out-of-order points cannot make reading quadratic.
  mutable std::vector<probes::ClockSync> points_;
  mutable bool unsorted_ = false;
  // The segment the last conversion used (points_[hint_ - 1], points_[hint_]) and its slope.
  mutable std::size_t hint_ = 0;
  mutable std::optional<long double> hint_slope_;
};

class Distribution {
 public:
  void add(std::uint64_t value);
  // Adds every sample of `other`.
  void merge(const Distribution& other);

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  // The nearest-rank percentile, 0 < p <= 100; 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double p) const;

 private:
  static constexpr std::size_t kExactLimit = 256;
  static std::size_t bucket_of(std::uint64_t value) noexcept;
  static std::uint64_t bucket_floor(std::size_t bucket) noexcept;
  void spill();
  void add_to_bucket(std::size_t bucket, std::uint64_t n);

  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::vector<std::uint64_t> exact_;    // while count_ <= kExactLimit
  std::vector<std::uint64_t> buckets_;  // afterwards
};

}  // namespace loopscope::viewer
