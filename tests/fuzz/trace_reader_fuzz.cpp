// libFuzzer target for the trace reader and the report built on it (scripts/fuzz-reader).
//
// The first input byte picks a mode. Raw: the rest is a trace file as is, which exercises the
// header checks and the chunk framing. Structured: the rest is a list of (type, length,
// payload) triples that the harness frames into chunks with a valid header and valid CRCs,
// since a fuzzer cannot forge CRC-32C; this is what reaches the payload decoders and the
// analysis and the exports. Either way the only acceptable outcomes are a report (and the
// exports) or a TraceError.
#include <loopscope/probes/trace_format.hpp>
#include <loopscope/viewer/export.hpp>
#include <loopscope/viewer/report.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <cstdint>
#include <sstream>
#include <string_view>

namespace {

namespace format = loopscope::probes::format;
namespace viewer = loopscope::viewer;

void append_chunk(format::Bytes& out, std::uint8_t type, std::span<const std::byte> payload) {
  const std::size_t at = out.size();
  out.resize(at + format::kChunkHeaderSize);
  const auto length = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) {
    out[at + i] = static_cast<std::byte>(length >> (8 * i));
  }
  out[at + 4] = static_cast<std::byte>(type);
  out.insert(out.end(), payload.begin(), payload.end());
  const std::uint32_t crc = format::chunk_crc({out.data() + at, format::kChunkHeaderSize}, payload);
  for (int i = 0; i < 4; ++i) {
    out[at + 8 + i] = static_cast<std::byte>(crc >> (8 * i));
  }
}

format::Bytes structured(std::span<const std::byte> in) {
  format::Bytes out;
  format::append_header(out, {loopscope::probes::TickSource::kTsc, 0, 1});
  while (in.size() >= 2) {
    const auto type = static_cast<std::uint8_t>(static_cast<std::uint8_t>(in[0]) % 11);
    const std::size_t length =
        std::min<std::size_t>(static_cast<std::uint8_t>(in[1]), in.size() - 2);
    append_chunk(out, type, in.subspan(2, length));
    in = in.subspan(2 + length);
  }
  return out;
}

void exercise(std::span<const std::byte> trace) {
  viewer::TraceReader reader(trace);
  try {
    const viewer::Report report = viewer::analyze(reader);
    std::ostringstream sink;
    viewer::render_json(report, sink);
    viewer::render_text(report, sink, {.top = 5, .color = true});
    // The exports take what the report took: every format must come out or throw.
    for (const std::string_view name : viewer::kExportFormatNames) {
      std::ostringstream out;
      viewer::export_trace(reader, *viewer::parse_export_format(name), out);
    }
  } catch (const viewer::TraceError&) {
    // Corruption reported cleanly.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    exercise(rest);
  } else {
    const format::Bytes trace = structured(rest);
    exercise(trace);
  }
  return 0;
}
