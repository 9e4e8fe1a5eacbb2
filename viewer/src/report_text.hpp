// The parts of render_text() that live in their own file.
#pragma once

#include "text_format.hpp"
#include <loopscope/viewer/report.hpp>

#include <ostream>

namespace loopscope::viewer::detail {

// "Loop lag": the percentiles and the histogram as a bar chart.
void render_lag(const Report& r, std::ostream& out, const Style& st);
// "What tasks waited on": suspensions by reason, longest total first.
void render_waits(const Report& r, std::ostream& out, const Style& st);
// "Failed tasks": the failures grouped by coroutine, spawn site, exception type and message,
// the `top` most frequent groups.
void render_failures(const Report& r, std::ostream& out, const Style& st, std::size_t top);

}  // namespace loopscope::viewer::detail
