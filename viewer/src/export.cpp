// export_trace(): the Catalog pass, then the chosen exporter's passes.
#include "exporters.hpp"

namespace loopscope::viewer {

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  for (std::size_t i = 0; i < kExportFormatNames.size(); ++i) {
    if (kExportFormatNames[i] == name) {
      return static_cast<ExportFormat>(i);
    }
  }
  return std::nullopt;
}

ExportResult export_trace(TraceReader& reader, ExportFormat format, std::ostream& out) {
  // The Perfetto export needs no event kinds from the first pass (export_perfetto.cpp).
  detail::Catalog catalog(format != ExportFormat::kPerfetto);
  const ReadResult read = detail::read_catalog(reader, catalog);
  ExportResult result;
  switch (format) {
    case ExportFormat::kPerfetto:
      result = detail::export_perfetto(reader, catalog, out);
      break;
    case ExportFormat::kChrome:
      result = detail::export_chrome(reader, catalog, out);
      break;
    case ExportFormat::kSpeedscope:
      result = detail::export_speedscope(reader, catalog, out);
      break;
  }
  result.events = read.events + read.events_skipped;  // pass 2 decoded every one
  result.complete = read.complete;
  result.truncation = read.truncation;
  return result;
}

}  // namespace loopscope::viewer
