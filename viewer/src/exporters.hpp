// The three exporters behind export_trace(); each runs its Timeline passes over `reader`
// after the Catalog pass has filled `catalog`.
#pragma once

#include "export_timeline.hpp"
#include <loopscope/viewer/export.hpp>

#include <ostream>

namespace loopscope::viewer::detail {

ExportResult export_perfetto(TraceReader& reader, const Catalog& catalog, std::ostream& out);
ExportResult export_chrome(TraceReader& reader, const Catalog& catalog, std::ostream& out);
ExportResult export_speedscope(TraceReader& reader, const Catalog& catalog, std::ostream& out);

}  // namespace loopscope::viewer::detail
