// A trace survives the death of the program that writes it: a traced program killed with
// SIGKILL or ended by std::abort() leaves a file that the reader reads as a partial trace,
// holding what the collector had written; and a real trace cut at any byte reads as a
// partial trace or gives a clear error, never a crash.
#include "test_support.hpp"
#include <loopscope/loopscope.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
namespace format = probes::format;

// Counts what a trace holds.
class Tally final : public viewer::TraceVisitor {
 public:
  std::uint64_t events = 0;
  std::uint64_t created = 0;
  std::uint64_t truncations = 0;
  void on_events(std::uint32_t /*thread*/, std::span<const format::Record> batch) override {
    events += batch.size();
    for (const format::Record& r : batch) {
      created += r.kind == probes::EventKind::kTaskCreated ? 1 : 0;
    }
  }
  void on_truncated(std::uint64_t /*offset*/, std::string_view /*reason*/) override {
    ++truncations;
  }
};

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("loopscope_" + std::to_string(::getpid()) + "_" + name);
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  const auto* p = reinterpret_cast<const std::byte*>(raw.data());
  return {p, p + raw.size()};
}

// Runs trace_crash_child to its end and returns its wait status.
int run_child(const std::string& mode, const std::filesystem::path& trace, int tasks) {
  const std::string path = trace.string();
  const std::string count = std::to_string(tasks);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlimit no_core{0, 0};  // an abort should not leave a core file behind
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::execl(LOOPSCOPE_CRASH_CHILD, LOOPSCOPE_CRASH_CHILD, mode.c_str(), path.c_str(), count.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void expect_partial_trace_with_tasks(const std::filesystem::path& trace, int tasks) {
  viewer::TraceReader reader(trace);
  Tally tally;
  viewer::ReadResult result;
  ASSERT_NO_THROW(result = reader.read(tally));
  EXPECT_FALSE(result.complete);
  ASSERT_TRUE(result.truncation);
  EXPECT_EQ(tally.truncations, 1u);
  EXPECT_EQ(result.truncation->offset, result.bytes);
  // The main task and every task it created: the child saw them in the file before dying.
  EXPECT_GE(tally.created, static_cast<std::uint64_t>(tasks) + 1);
  EXPECT_EQ(tally.events, result.events);
}

TEST(TraceCrash, AProgramKilledMidRunLeavesATraceThatReadsUpToItsLastWrite) {
  const auto trace = temp_path("killed.lstrace");
  const int status = run_child("kill", trace, 200);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  expect_partial_trace_with_tasks(trace, 200);
  std::filesystem::remove(trace);
}

TEST(TraceCrash, AProgramThatAbortsLeavesATraceThatReadsUpToItsLastWrite) {
  const auto trace = temp_path("aborted.lstrace");
  const int status = run_child("abort", trace, 200);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
  expect_partial_trace_with_tasks(trace, 200);
  std::filesystem::remove(trace);
}

Task<int> leaf(int i) {
  co_await sleep(0s);
  if (i % 7 == 3) {
    throw std::runtime_error("leaf failed");
  }
  co_return i;
}

Task<int> traced_program() {
  std::vector<Task<int>> tasks;
  tasks.reserve(6);
  for (int i = 0; i < 6; ++i) {
    tasks.push_back(leaf(i));
  }
  const auto results = co_await gather_settled(std::move(tasks));
  auto named = spawn(leaf(1));
  named.set_name("named");
  co_await named;
  co_return static_cast<int>(results.size());
}

// A real trace: header, clock syncs, thread, strings, locations, events, a task name, end.
std::vector<std::byte> real_trace() {
  const auto path = temp_path("cut.lstrace");
  Options options;
  options.trace_path = path.string();
  run(traced_program(), options);
  std::vector<std::byte> bytes = read_file(path);
  std::filesystem::remove(path);
  return bytes;
}

TEST(TraceCrash, ARealTraceCutAtEveryByteReadsAsAPartialTraceOrAClearError) {
  const std::vector<std::byte> bytes = real_trace();
  Tally whole;
  const viewer::ReadResult full =
      viewer::TraceReader(std::span<const std::byte>(bytes)).read(whole);
  ASSERT_TRUE(full.complete);
  ASSERT_GT(whole.created, 7u);
  std::uint64_t previous = 0;
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    viewer::TraceReader reader(std::span<const std::byte>(bytes.data(), cut));
    Tally tally;
    if (cut < format::kHeaderSize) {
      EXPECT_THROW(reader.read(tally), viewer::TraceError) << cut;
      continue;
    }
    viewer::ReadResult result;
    ASSERT_NO_THROW(result = reader.read(tally)) << "cut at " << cut;
    ASSERT_TRUE(result.truncation) << cut;
    EXPECT_FALSE(result.complete) << cut;
    EXPECT_LE(result.truncation->offset, cut);
    // A longer prefix never holds fewer events.
    EXPECT_GE(tally.events, previous) << cut;
    EXPECT_LE(tally.events, whole.events) << cut;
    previous = tally.events;
  }
  EXPECT_EQ(previous, whole.events);  // the cut inside the end chunk loses no event
}

TEST(TraceCrash, ARealTraceFileCutShortReadsFromDiskLikeFromMemory) {
  const std::vector<std::byte> bytes = real_trace();
  const auto path = temp_path("cut_file.lstrace");
  for (std::size_t cut = format::kHeaderSize; cut < bytes.size(); cut += 97) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(cut));
    }
    Tally from_file;
    Tally from_memory;
    const viewer::ReadResult a = viewer::TraceReader(path).read(from_file);
    const viewer::ReadResult b =
        viewer::TraceReader(std::span<const std::byte>(bytes.data(), cut)).read(from_memory);
    EXPECT_EQ(a.bytes, b.bytes) << cut;
    EXPECT_EQ(from_file.events, from_memory.events) << cut;
    ASSERT_TRUE(a.truncation && b.truncation) << cut;
    EXPECT_EQ(a.truncation->reason, b.truncation->reason) << cut;
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace loopscope
