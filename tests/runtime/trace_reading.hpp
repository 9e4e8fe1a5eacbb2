// Reading back a trace file in tests: every chunk decoded with the format's own decoders
// into plain containers (no viewer involved), and small queries over the events.
#pragma once

#include <loopscope/probes/trace_format.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace loopscope::testing {

namespace format = probes::format;

struct Decoded {
  std::vector<format::Record> events;
  std::map<std::uint64_t, std::string> strings;
  std::map<std::uint64_t, format::Location> locations;
  std::vector<std::string> task_names;
  std::map<std::uint64_t, std::string> task_errors;  // by task id
  std::vector<std::string> threads;
  bool ended = false;
  std::uint64_t end_written = 0;
  std::uint64_t end_dropped = 0;
};

inline Decoded read_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
  Decoded d;
  std::uint32_t header_size = 0;
  format::decode_header(data, header_size);
  std::size_t offset = header_size;
  while (offset + format::kChunkHeaderSize <= data.size()) {
    const auto header =
        format::decode_chunk_header(data.subspan(offset).first<format::kChunkHeaderSize>());
    const auto payload = data.subspan(offset + format::kChunkHeaderSize, header.length);
    switch (static_cast<format::ChunkType>(header.type)) {
      case format::ChunkType::kEvents: {
        std::uint32_t thread = 0;
        format::decode_events(payload, thread,
                              [&d](const format::Record& r) { d.events.push_back(r); });
        break;
      }
      case format::ChunkType::kString:
        format::decode_strings(payload, [&d](std::uint64_t id, std::string_view text) {
          d.strings[id] = std::string(text);
        });
        break;
      case format::ChunkType::kLocation:
        format::decode_locations(payload,
                                 [&d](const format::Location& l) { d.locations[l.id] = l; });
        break;
      case format::ChunkType::kTaskName:
        d.task_names.emplace_back(format::decode_task_name(payload).name);
        break;
      case format::ChunkType::kTaskError: {
        const format::TaskError error = format::decode_task_error(payload);
        d.task_errors[error.task] = std::string(error.message);
        break;
      }
      case format::ChunkType::kThread:
        d.threads.emplace_back(format::decode_thread(payload).name);
        break;
      case format::ChunkType::kEnd: {
        const auto end = format::decode_end(payload);
        d.ended = true;
        d.end_written = end.written;
        d.end_dropped = end.dropped;
        break;
      }
      default:
        break;
    }
    offset += format::kChunkHeaderSize + header.length;
  }
  EXPECT_EQ(offset, data.size()) << "trailing bytes";
  return d;
}

inline std::size_t count(const Decoded& d, probes::EventKind kind) {
  std::size_t n = 0;
  for (const auto& e : d.events) {
    n += e.kind == kind ? 1 : 0;
  }
  return n;
}

// A trace file path unique to this process and `name`.
inline std::string trace_file(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "_" + std::to_string(getpid()) + ".lstrace";
}

}  // namespace loopscope::testing
