#include "lag_sampler.hpp"

#include "debug_state.hpp"
#include <loopscope/detail/debug_hooks.hpp>
#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace loopscope {

namespace detail {

namespace {

// The second field of /proc/thread-self/schedstat: nanoseconds spent runnable but waiting
// for a CPU. 0 when it cannot be read (no schedstats in the kernel).
std::int64_t run_delay_ns(int fd) noexcept {
  if (fd < 0) {
    return 0;
  }
  std::array<char, 96> text{};
  const ssize_t n = ::pread(fd, text.data(), text.size() - 1, 0);
  if (n <= 0) {
    return 0;
  }
  unsigned long long on_cpu = 0;
  unsigned long long waiting = 0;
  if (std::sscanf(text.data(), "%llu %llu", &on_cpu, &waiting) != 2) {
    return 0;
  }
  return static_cast<std::int64_t>(waiting);
}

}  // namespace

LagSampler::LagSampler(Duration interval, const Clock* clock) noexcept
    : clock_(clock),
      interval_(interval),
      source_(probes::tick_source()),
      start_ticks_(probes::read_ticks(source_)),
      start_time_(now()) {
  deadline_ = start_time_ + interval_;
  reporting_seen_ns_ = detail::reporting_ns();
  if (source_ == probes::TickSource::kMonotonicNs) {
    ticks_per_ns_ = 1.0;  // ticks are nanoseconds
  }
  if (clock_ == nullptr) {
    schedstat_fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    run_delay_seen_ns_ = run_delay_ns(schedstat_fd_);
  }
}

LagSampler::~LagSampler() {
  if (schedstat_fd_ >= 0) {
    ::close(schedstat_fd_);
  }
}

Duration LagSampler::excused_time() noexcept {
  if (clock_ != nullptr) {
    return Duration::zero();
  }
  const std::int64_t reporting = detail::reporting_ns();
  const std::int64_t run_delay = run_delay_ns(schedstat_fd_);
  const Duration excused{(reporting - reporting_seen_ns_) +
                         std::max<std::int64_t>(run_delay - run_delay_seen_ns_, 0)};
  reporting_seen_ns_ = reporting;
  run_delay_seen_ns_ = std::max(run_delay, run_delay_seen_ns_);
  return excused;
}

void LagSampler::regate(std::uint64_t ticks, TimePoint now) noexcept {
  if (ticks_per_ns_ == 0.0 && now - start_time_ >= std::chrono::milliseconds(1) &&
      ticks > start_ticks_) {
    ticks_per_ns_ = static_cast<double>(ticks - start_ticks_) /
                    static_cast<double>((now - start_time_).count());
  }
  // Until the rate is known, the gate assumes the slowest rate a tick source runs at, so
  // that it opens early, never late: each early opening costs one clock read and moves the
  // gate most of the rest of the way. Checking every iteration instead cost a traced
  // queue ping-pong (W3, 40 ns a step) 0.5 ms in its first millisecond.
  const double rate = ticks_per_ns_ != 0.0 ? ticks_per_ns_ : kSlowestTicksPerNs;
  const Duration left = std::max(deadline_ - now, Duration::zero());
  gate_ticks_ = ticks + static_cast<std::uint64_t>(static_cast<double>(left.count()) * rate);
}

Duration LagSampler::take(TimePoint now) noexcept {
  const Duration lag = now - std::max(deadline_, std::min(idle_until_, now));
  histogram_.add(static_cast<std::uint64_t>(std::max(lag, Duration::zero()).count()));
  deadline_ = now + interval_;
  return lag;
}

LagStats LagSampler::stats() const noexcept {
  return LagStats{histogram_.count(), Duration(histogram_.percentile(50)),
                  Duration(histogram_.percentile(90)), Duration(histogram_.percentile(99)),
                  Duration(histogram_.max())};
}

bool LagSampler::may_warn(TimePoint now) const noexcept {
  return !warned_once_ || now - last_warning_ >= std::chrono::seconds(1);
}

}  // namespace detail

namespace {

std::string describe_lag(Duration lag, std::chrono::milliseconds threshold) {
  std::array<char, 160> text{};
  std::snprintf(text.data(), text.size(),
                "the event loop ran %.1f ms late (threshold %lld ms): a step or callback held it "
                "without yielding",
                std::chrono::duration<double, std::milli>(lag).count(),
                static_cast<long long>(threshold.count()));
  return text.data();
}

}  // namespace

void Loop::start_lag_sampler() {
  const bool tracing = recorder_ != nullptr;
  if ((!tracing && !options_.debug) || options_.lag_sample_interval <= Duration::zero()) {
    return;
  }
  lag_ = std::make_unique<detail::LagSampler>(options_.lag_sample_interval,
                                              detail::debug_step_clock());
}

void Loop::note_idle_until_now() noexcept {
  if (lag_ != nullptr) {
    lag_->set_idle_until(lag_->now());
  }
}

void Loop::sample_lag() {
  detail::LagSampler& sampler = *lag_;
  std::uint64_t ticks = 0;
  if (sampler.real_clock()) {
    // Tracing reads the probe clock anyway; its latest reading will do for the gate.
    ticks =
        recorder_ != nullptr ? recorder_->step_ticks() : probes::read_ticks(sampler.tick_source());
    if (!sampler.gate_open(ticks)) [[likely]] {
      return;
    }
  }
  const TimePoint now = sampler.now();
  if (!sampler.due(now)) {
    sampler.regate(ticks, now);
    lag_gate_ticks_ = sampler.gate_ticks();
    return;
  }
  const Duration lag = sampler.take(now);
  if (recorder_ != nullptr) {
    const auto ns = static_cast<std::uint64_t>(std::max(lag, Duration::zero()).count());
    ticks = trace_tick();
    recorder_->record(probes::EventKind::kLagSample, ticks, 0, 0, probes::EventExt{ns, 0});
    recorder_->publish();
  }
  sampler.regate(ticks, now);
  lag_gate_ticks_ = sampler.gate_ticks();
  if (!options_.debug) {
    return;
  }
  const Duration held = lag - sampler.excused_time();
  // The longest step since the last sample is the likeliest culprit (or one of many).
  const detail::HeaviestStep heaviest =
      debug_ != nullptr ? debug_->steps.take_heaviest() : detail::HeaviestStep{};
  if (held >= options_.slow_callback_duration && sampler.may_warn(now)) {
    sampler.warned(now);
    std::string message = describe_lag(held, options_.slow_callback_duration);
    detail::FindingContext context;
    if (heaviest.ns > 0 && debug_ != nullptr) {
      message.append("; the longest step in that time was ")
          .append(debug_->steps.describe(heaviest))
          .append(", ")
          .append(detail::describe_duration(heaviest.ns));
      context.stack = debug_->stack_of(heaviest.debug_id);
      context.code = context.stack.empty() ? heaviest.code : 0;
      context.task = heaviest.task;
    }
    detail::report_warning(WarningKind::kLoopLag, std::move(message), context);
  }
}

LagStats Loop::lag_stats() const noexcept {
  return lag_ != nullptr ? lag_->stats() : LagStats{};
}

}  // namespace loopscope
