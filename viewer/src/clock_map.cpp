#include <loopscope/viewer/clock_map.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace loopscope::viewer {

namespace {

constexpr int kSubBits = 6;                        // 64 sub-buckets per power of two
constexpr std::uint64_t kLinear = 2u << kSubBits;  // values below this have their own bucket

std::uint64_t clamp_ns(long double ns) noexcept {
  if (!(ns > 0)) {
    return 0;
  }
  if (ns >= 18446744073709551615.0L) {
    return UINT64_MAX;
  }
  return static_cast<std::uint64_t>(ns + 0.5L);  // in range, so the conversion is defined
}

}  // namespace

void ClockMap::add(probes::ClockSync point) {
  if (!points_.empty() && point.ticks <= points_.back().ticks) {
    unsorted_ = true;
  }
  points_.push_back(point);
  hint_slope_.reset();
}

void ClockMap::sort() const {
  if (!unsorted_) {
    return;
  }
  std::stable_sort(points_.begin(), points_.end(),
                   [](const auto& a, const auto& b) { return a.ticks < b.ticks; });
  const auto last = std::unique(points_.begin(), points_.end(),
                                [](const auto& a, const auto& b) { return a.ticks == b.ticks; });
  points_.erase(last, points_.end());
  unsorted_ = false;
  hint_ = 0;
  hint_slope_.reset();
}

bool ClockMap::calibrated() const noexcept {
  if (source_ == probes::TickSource::kMonotonicNs) {
    return true;
  }
  sort();
  return points_.size() >= 2 && points_.back().monotonic_ns > points_.front().monotonic_ns;
}

std::uint64_t ClockMap::to_ns(std::uint64_t ticks) const noexcept {
  if (source_ == probes::TickSource::kMonotonicNs || points_.empty()) {
    return ticks;
  }
  sort();
  if (points_.size() == 1) {
    return clamp_ns(static_cast<long double>(points_[0].monotonic_ns) +
                    (static_cast<long double>(ticks) - static_cast<long double>(points_[0].ticks)));
  }
  // Consecutive conversions (a streaming export's) mostly fall in the segment of the previous
  // one: it is tried first, with its slope kept, before a binary search.
  const std::size_t n = points_.size();
  std::size_t i = hint_;
  const bool in_hint = i >= 1 && i < n && (i == 1 || ticks >= points_[i - 1].ticks) &&
                       (i == n - 1 || ticks < points_[i].ticks);
  if (!in_hint) {
    const auto upper =
        std::upper_bound(points_.begin(), points_.end(), ticks,
                         [](std::uint64_t t, const probes::ClockSync& p) { return t < p.ticks; });
    i = std::clamp<std::size_t>(static_cast<std::size_t>(upper - points_.begin()), 1, n - 1);
  }
  const probes::ClockSync& a = points_[i - 1];
  if (!in_hint || !hint_slope_) {
    const probes::ClockSync& b = points_[i];
    hint_slope_ =
        (static_cast<long double>(b.monotonic_ns) - static_cast<long double>(a.monotonic_ns)) /
        (static_cast<long double>(b.ticks) - static_cast<long double>(a.ticks));
    hint_ = i;
  }
  return clamp_ns(static_cast<long double>(a.monotonic_ns) +
                  (static_cast<long double>(ticks) - static_cast<long double>(a.ticks)) *
                      *hint_slope_);
}

double ClockMap::ns_per_tick() const noexcept {
  if (!calibrated() || source_ == probes::TickSource::kMonotonicNs) {
    return 1.0;
  }
  const auto& a = points_.front();
  const auto& b = points_.back();
  return static_cast<double>(static_cast<long double>(b.monotonic_ns - a.monotonic_ns) /
                             static_cast<long double>(b.ticks - a.ticks));
}

std::uint64_t ClockMap::duration_ns(std::uint64_t ticks) const noexcept {
  if (source_ == probes::TickSource::kMonotonicNs) {
    return ticks;
  }
  return clamp_ns(static_cast<long double>(ticks) * ns_per_tick());
}

std::size_t Distribution::bucket_of(std::uint64_t value) noexcept {
  if (value < kLinear) {
    return static_cast<std::size_t>(value);
  }
  const int e = static_cast<int>(std::bit_width(value)) - 1;  // >= kSubBits + 1
  const std::uint64_t sub = (value >> (e - kSubBits)) & ((1u << kSubBits) - 1);
  return static_cast<std::size_t>(
      kLinear + (static_cast<std::uint64_t>(e) - kSubBits - 1) * (1u << kSubBits) + sub);
}

std::uint64_t Distribution::bucket_floor(std::size_t bucket) noexcept {
  if (bucket < kLinear) {
    return bucket;
  }
  const std::size_t rest = bucket - kLinear;
  const std::size_t e = rest / (1u << kSubBits) + kSubBits + 1;
  const std::uint64_t sub = rest % (1u << kSubBits);
  return ((1u << kSubBits) + sub) << (e - kSubBits);
}

void Distribution::add_to_bucket(std::size_t bucket, std::uint64_t n) {
  if (buckets_.size() <= bucket) {
    buckets_.resize(bucket + 1);
  }
  buckets_[bucket] += n;
}

void Distribution::spill() {
  for (const std::uint64_t v : exact_) {
    add_to_bucket(bucket_of(v), 1);
  }
  exact_.clear();
  exact_.shrink_to_fit();
}

void Distribution::add(std::uint64_t value) {
  ++count_;
  max_ = std::max(max_, value);
  if (count_ <= kExactLimit) {
    exact_.push_back(value);
    return;
  }
  if (!exact_.empty()) {
    spill();
  }
  add_to_bucket(bucket_of(value), 1);
}

void Distribution::merge(const Distribution& other) {
  if (other.buckets_.empty()) {
    for (const std::uint64_t v : other.exact_) {
      add(v);
    }
    return;
  }
  spill();
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  for (std::size_t b = 0; b < other.buckets_.size(); ++b) {
    if (other.buckets_[b] != 0) {
      add_to_bucket(b, other.buckets_[b]);
    }
  }
}

std::uint64_t Distribution::percentile(double p) const {
  if (count_ == 0) {
    return 0;
  }
  const auto rank = std::clamp<std::uint64_t>(
      static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))), 1, count_);
  if (buckets_.empty()) {
    std::vector<std::uint64_t> sorted = exact_;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                     sorted.end());
    return sorted[rank - 1];
  }
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      return std::min(bucket_floor(b), max_);
    }
  }
  return max_;
}

}  // namespace loopscope::viewer
