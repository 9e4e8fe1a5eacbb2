// Exports: a trace written in the formats that existing viewers open.
//
//   perfetto    the Perfetto protobuf trace (ui.perfetto.dev): a track per thread with the
//               task steps as slices, an async track per task from creation to completion,
//               flows from the step that spawned a task to the task's first step, warnings
//               as instant events, loop lag as a counter track per loop.
//   chrome      the Chrome Trace Event JSON format (chrome://tracing, Perfetto): the same
//               content as complete ("X") events, async ("b"/"e") events, flow ("s"/"f")
//               events, instant ("i") and counter ("C") events, thread names as metadata.
//   speedscope  speedscope's file format (speedscope.app): one evented profile per loop
//               thread whose frames are the coroutines (and callbacks) the loop ran.
//
// All three are written while the trace is read: memory is bounded by the number of threads,
// live tasks and definitions, not by the number of events. A first pass collects what later
// items need but the trace defines late (the clock calibration, task names); perfetto and
// chrome then need one more pass, speedscope one per loop thread (its profiles are written one
// after the other). Times are CLOCK_MONOTONIC nanoseconds in perfetto and nanoseconds since
// the first event of the trace in the JSON formats. Steps of one thread never overlap: a step
// whose end was lost (dropped events) ends where the next item on its thread begins.
//
// Errors: a corrupt trace throws TraceError, a failing output stream std::runtime_error; the
// stream may then hold part of the export (the `loopscope export` command writes to a
// temporary file and renames it only on success).
#pragma once

#include <loopscope/viewer/trace_reader.hpp>

#include <array>
#include <optional>
#include <ostream>
#include <string_view>

namespace loopscope::viewer {

enum class ExportFormat { kPerfetto, kChrome, kSpeedscope };

inline constexpr std::array<std::string_view, 3> kExportFormatNames = {"perfetto", "chrome",
                                                                       "speedscope"};

std::optional<ExportFormat> parse_export_format(std::string_view name);

struct ExportResult {
  std::uint64_t events = 0;  // trace events read (one pass)
  std::uint64_t slices = 0;  // slices written on thread tracks (steps, callbacks, jobs)
  std::uint64_t tasks = 0;   // tasks with a creation event
  bool complete = false;     // the trace had its end chunk
  std::optional<Truncation> truncation;
};

// Reads the whole trace (several times; a reader of a pipe cannot do that) and writes it to
// `out` in `format`.
ExportResult export_trace(TraceReader& reader, ExportFormat format, std::ostream& out);

}  // namespace loopscope::viewer
