// The recording side end to end: a known program run with a trace path gives a trace file
// whose events match what the program did. The file is read with the format's own decoders.

#include "test_support.hpp"
#include <loopscope/loopscope.hpp>
#include <loopscope/probes/trace_format.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <latch>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
namespace format = probes::format;

struct Decoded {
  std::vector<format::Record> events;
  std::map<std::uint64_t, std::string> strings;
  std::map<std::uint64_t, format::Location> locations;
  std::vector<std::string> task_names;
  std::vector<std::string> threads;
  bool ended = false;
  std::uint64_t end_written = 0;
  std::uint64_t end_dropped = 0;
};

Decoded read_trace(const std::string& path) {
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

Task<int> leaf(int i) {
  co_await sleep(1ms);
  co_await sleep(0ms);
  if (i == 2) {
    throw std::runtime_error("leaf 2 fails");
  }
  co_return i;
}

Task<int> traced_main() {
  auto a = spawn(leaf(0), "first leaf");
  auto b = spawn(leaf(1));
  auto c = spawn(leaf(2));
  int sum = co_await a + co_await b;
  try {
    co_await c;
  } catch (const std::runtime_error&) {
    sum += 100;
  }
  co_return sum;
}

std::size_t count(const Decoded& d, probes::EventKind kind) {
  std::size_t n = 0;
  for (const auto& e : d.events) {
    n += e.kind == kind ? 1 : 0;
  }
  return n;
}

TEST(TraceRecording, AKnownProgramGivesTheExpectedEvents) {
  const std::string path =
      ::testing::TempDir() + "/trace_recording_" + std::to_string(getpid()) + ".lstrace";
  ManualClock clock;
  Options options;
  options.clock = &clock;
  options.trace_path = path;
  EXPECT_EQ(run(traced_main(), options), 101);

  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(d.end_written, d.events.size());  // emitted = written + dropped, none dropped
  EXPECT_EQ(d.end_dropped, 0u);
  EXPECT_EQ(d.threads.size(), 1u);
  EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), 4u);  // main and three leaves
  EXPECT_EQ(count(d, probes::EventKind::kTaskFinished), 4u);
  EXPECT_EQ(count(d, probes::EventKind::kTaskResumed),
            count(d, probes::EventKind::kTaskSuspended) + 4);  // every step ends
  // Each leaf: first step, after the sleep, after the yield: three steps.
  std::map<std::uint32_t, int> resumes;
  std::map<std::uint32_t, std::uint16_t> finish_state;
  std::map<std::uint32_t, std::string> function;
  std::map<std::uint32_t, std::string> site_file;
  for (const auto& e : d.events) {
    if (e.kind == probes::EventKind::kTaskResumed) {
      ++resumes[e.task];
    } else if (e.kind == probes::EventKind::kTaskFinished) {
      finish_state[e.task] = e.arg;
    } else if (e.kind == probes::EventKind::kTaskCreated) {
      function[e.task] = d.strings.at(d.locations.at(e.f[1]).function);
      site_file[e.task] = d.strings.at(d.locations.at(e.f[2]).file);
    }
  }
  int leaves = 0;
  int failed = 0;
  for (const auto& [task, name] : function) {
    if (name.find("leaf") != std::string::npos) {
      ++leaves;
      EXPECT_EQ(resumes[task], 3) << name;
      EXPECT_NE(site_file[task].find("trace_recording_test.cpp"), std::string::npos);
      failed += finish_state[task] == static_cast<std::uint16_t>(detail::TaskState::kFailed);
    }
  }
  EXPECT_EQ(leaves, 3);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(d.task_names, (std::vector<std::string>{"first leaf"}));
  // Ticks never go backwards within the thread.
  for (std::size_t i = 1; i < d.events.size(); ++i) {
    EXPECT_GE(d.events[i].ticks, d.events[i - 1].ticks);
  }
}

Task<int> small_program(std::latch* both_started) {
  // Hold until the other loop runs too, so that both record into the same trace at once.
  auto arrive = [both_started] { both_started->arrive_and_wait(); };
  co_await to_thread(arrive);
  int sum = 0;
  for (int i = 0; i < 4; ++i) {
    sum += co_await spawn(leaf(i == 2 ? 3 : i));
  }
  co_return sum;
}

TEST(TraceRecording, TwoLoopThreadsWritingOneTraceGiveTwoTracks) {
  const std::string path =
      ::testing::TempDir() + "/trace_two_loops_" + std::to_string(getpid()) + ".lstrace";
  std::latch both_started(2);
  auto loop_thread = [&path, &both_started] {
    ManualClock clock;
    Options options;
    options.clock = &clock;
    options.trace_path = path;
    EXPECT_EQ(run(small_program(&both_started), options), 0 + 1 + 3 + 3);
  };
  std::thread a(loop_thread);
  std::thread b(loop_thread);
  a.join();
  b.join();
  const Decoded d = read_trace(path);
  std::remove(path.c_str());
  ASSERT_TRUE(d.ended);
  EXPECT_EQ(d.end_written, d.events.size());
  EXPECT_EQ(d.end_dropped, 0u);
  EXPECT_EQ(d.threads.size(), 2u);                            // one track per loop thread
  EXPECT_EQ(count(d, probes::EventKind::kTaskCreated), 10u);  // 5 tasks in each loop
}

TEST(TraceRecording, AnUnwritablePathIsAClearError) {
  Options options;
  options.trace_path = "/nonexistent-directory/x.lstrace";
  auto amain = []() -> Task<int> { co_return 1; };
  EXPECT_THROW(run(amain(), options), std::system_error);
  EXPECT_THROW(current_loop(), Error);  // the failed run left no loop behind
  EXPECT_EQ(run(amain()), 1);           // and the thread can run one again
}

}  // namespace
}  // namespace loopscope
