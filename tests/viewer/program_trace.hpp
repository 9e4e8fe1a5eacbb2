// The trace of a small, made-up program, written event by event so that every figure of its
// report and exports is known exactly. The golden tests, the export read-back checks and the
// diff tests use it.
//
// Loop thread 0 runs `amain`, which spawns (inside its first step, so with flows) two
// `fetch` tasks and a `worker`. The fetches sleep; on waking one finishes and the other runs
// one slow step (`slow_ns`, with a slow_callback warning carrying a stack) and fails (a
// std::runtime_error that says "fetch failed: connection refused"). The
// worker awaits the slow fetch, then a thread job (whose events, as a runtime records them,
// come when the loop learns the job is done, saying how long before that the worker started
// and finished it). A timer callback runs once. Loop thread 1 runs `serve`, which waits on a socket
// twice; three of its events were dropped, the end of one step among them, and it is still pending
// at the end. Both loops take lag samples; `lag_scale` multiplies them.
#pragma once

#include <loopscope/probes/trace_format.hpp>

#include <algorithm>
#include <vector>

namespace loopscope::testing {

struct ProgramTraceOptions {
  std::uint64_t slow_ns = 100'000;  // the slow fetch step (at most 200 us)
  std::uint64_t lag_scale = 1;
};

inline probes::format::Bytes program_trace(const ProgramTraceOptions& options = {}) {
  namespace fmt = probes::format;
  using K = probes::EventKind;
  fmt::Bytes out;
  fmt::append_header(out, {probes::TickSource::kMonotonicNs, 1'700'000'000'000'000'000u, 777});
  const std::vector<probes::ClockSync> sync = {{0, 0}, {1'000'000, 1'000'000}};
  fmt::append_clock_sync(out, sync);
  fmt::append_thread(out, 0, 2001, "loop-0");
  fmt::append_thread(out, 1, 2002, "loop-1");
  const std::vector<std::pair<std::uint64_t, std::string_view>> strings = {
      {1, "amain()"},
      {2, "app/main.cpp"},
      {3, "(anonymous namespace)::fetch(std::string)"},
      {4, "worker(int)"},
      {5, "std::runtime_error"},
      {6, "N9loopscope6detail10TimerEntryE"},
      {7, "serve(loopscope::TcpStream)"},
      {8, "app/net.cpp"},
      {9, "nanosleep"},
      {10, "run_server()"}};
  fmt::append_strings(out, strings);
  const std::vector<fmt::Location> locations = {
      {1, 0x1000, 1, 2, 30}, {2, 0x2000, 3, 2, 12}, {3, 0, 1, 2, 35},  {4, 0x3000, 4, 2, 20},
      {5, 0, 1, 2, 40},      {6, 0x4000, 7, 8, 5},  {7, 0, 10, 8, 50}, {8, 0x5000, 9, 0, 0}};
  fmt::append_locations(out, locations);
  const auto ev = [](std::uint64_t t, K kind, std::uint32_t task, std::uint16_t arg = 0,
                     std::uint64_t f0 = 0, std::uint64_t f1 = 0, std::uint64_t f2 = 0) {
    return fmt::Record{t, kind, task, arg, {f0, f1, f2}};
  };
  const std::uint64_t slow_end = 11'200 + options.slow_ns;
  std::vector<fmt::Record> loop0 = {
      ev(1'000, K::kTaskCreated, 1, 0, 0, 1, 0),  // amain, before the loop runs
      ev(1'100, K::kTaskResumed, 1),
      ev(1'200, K::kTaskCreated, 2, 0, 1, 2, 3),  // fetch
      ev(1'300, K::kTaskCreated, 3, 0, 1, 2, 3),  // fetch
      ev(1'400, K::kTaskCreated, 4, 0, 1, 4, 5),  // worker
      ev(1'500, K::kTaskSuspended, 1, 4),         // wait_tasks
      ev(1'600, K::kTaskResumed, 2),
      ev(1'700, K::kTaskSuspended, 2, 2),  // sleep
      ev(1'800, K::kTaskResumed, 3),
      ev(1'900, K::kTaskSuspended, 3, 2),  // sleep
      ev(2'000, K::kTaskResumed, 4),
      ev(2'600, K::kTaskSuspended, 4, 3, 3),  // await_task 3
      ev(2'700, K::kPollBegin, 0),
      ev(10'700, K::kPollEnd, 0),
      ev(10'700, K::kTimerFired, 2),
      ev(10'700, K::kTimerFired, 3),
      ev(10'800, K::kCallbackBegin, 0, 0, 6),
      ev(10'900, K::kCallbackEnd, 0),
      ev(11'000, K::kTaskResumed, 2),
      ev(11'100, K::kTaskFinished, 2, 1),
      ev(11'200, K::kTaskResumed, 3),
      ev(slow_end, K::kTaskFinished, 3, 2, 5),  // failed: std::runtime_error
      ev(211'300, K::kTaskResumed, 4),
      ev(211'500, K::kTaskSuspended, 4, 13),  // thread_job
      ev(211'600, K::kPollBegin, 0),
      ev(251'700, K::kPollEnd, 0),
      ev(251'750, K::kThreadJobStarted, 4, 0, 1, 40'150),  // started at 211'600
      ev(251'750, K::kThreadJobFinished, 4, 0, 1, 250),    // finished at 251'500
      ev(251'800, K::kTaskResumed, 4),
      ev(252'000, K::kTaskFinished, 4, 1),
      ev(252'100, K::kTaskResumed, 1),
      ev(252'200, K::kTaskFinished, 1, 1),
  };
  const std::vector<std::uint64_t> lags = {500,   800,   1'200,  1'500,  2'500,  3'000,  4'000,
                                           7'000, 9'000, 15'000, 30'000, 60'000, 120'000};
  for (std::size_t i = 0; i < lags.size(); ++i) {
    loop0.push_back(ev(2'700 + 600 * i, K::kLagSample, 0, 0, lags[i] * options.lag_scale));
  }
  std::stable_sort(loop0.begin(), loop0.end(),
                   [](const fmt::Record& a, const fmt::Record& b) { return a.ticks < b.ticks; });
  fmt::append_events(out, 0, loop0);
  fmt::append_task_name(out, 0, 4, "worker-1");
  fmt::append_task_error(out, 0, 3, "fetch failed: connection refused");
  fmt::append_warning(
      out, fmt::WarningRecord{
               0, slow_end + 100, 0, 3, "task 'fetch' held the loop for a long time", {8, 2, 1}});

  const std::vector<fmt::Record> loop1_before = {
      ev(5'000, K::kTaskCreated, 100, 0, 0, 6, 7),
      ev(5'100, K::kTaskResumed, 100),
      ev(5'300, K::kTaskSuspended, 100, 11, 7),  // io_read on fd 7
      ev(5'400, K::kPollBegin, 0),
      ev(20'000, K::kPollEnd, 0, 1),
      ev(20'050, K::kLagSample, 0, 0, 2'000 * options.lag_scale),
      ev(20'100, K::kTaskResumed, 100)};
  fmt::append_events(out, 1, loop1_before);
  fmt::append_drops(out, 1, 3, 20'100, 20'400);
  const std::vector<fmt::Record> loop1_after = {
      ev(20'400, K::kTaskSuspended, 100, 11, 7), ev(20'500, K::kPollBegin, 0),
      ev(250'000, K::kPollEnd, 0, 1), ev(250'100, K::kLagSample, 0, 0, 5'000 * options.lag_scale)};
  fmt::append_events(out, 1, loop1_after);
  fmt::append_warning(
      out, fmt::WarningRecord{1, 250'100, 5, 0, "loop lag 5 us above the threshold", {}});
  fmt::append_end(out, loop0.size() + loop1_before.size() + loop1_after.size(), 3);
  return out;
}

}  // namespace loopscope::testing
