// A traced program that dies in the middle of its run, for trace_crash_test.cpp.
//
//   trace_crash_child kill|abort TRACE_PATH TASKS
//
// It spawns and awaits TASKS tasks, then keeps its loop busy until its own trace file, read
// back with the viewer's reader, holds the creation of every one of them (and of the main
// task), and then dies: SIGKILL (nothing of the process runs any more) or std::abort() (no
// destructor runs, so no end chunk). The collector writes at least every 100 ms, and the
// loop waits for that by yielding, not by sleeping. Whatever the collector is writing when
// the process dies is cut short: the test checks that the reader stops before it and still
// has everything written until then. (Watching the file's size instead is not enough: a
// large write can be seen half done, and dying then would leave its events chunk cut.)
#include <loopscope/loopscope.hpp>
#include <loopscope/viewer/trace_reader.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <sys/stat.h>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<int> work(int i) {
  co_await ls::sleep(0s);
  co_return i;
}

long long file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

// How many task_created events the trace file holds so far.
class CreatedCount final : public loopscope::viewer::TraceVisitor {
 public:
  long long created = 0;
  void on_events(std::uint32_t /*thread*/,
                 std::span<const loopscope::probes::format::Record> events) override {
    for (const auto& r : events) {
      created += r.kind == loopscope::probes::EventKind::kTaskCreated ? 1 : 0;
    }
  }
};

long long tasks_in_trace(const std::string& path) {
  CreatedCount count;
  try {
    loopscope::viewer::TraceReader(path).read(count);
  } catch (const loopscope::viewer::TraceError&) {
    return 0;  // not even the header yet
  }
  return count.created;
}

ls::Task<int> amain(std::string mode, std::string path, int tasks) {
  for (int i = 0; i < tasks; ++i) {
    auto handle = ls::spawn(work(i));
    co_await handle;
  }
  long long size = -1;
  for (;;) {
    co_await ls::sleep(0s);
    const long long now = file_size(path);
    if (now != size) {
      size = now;
      if (tasks_in_trace(path) >= tasks + 1) {
        break;
      }
    }
  }
  if (mode == "abort") {
    std::abort();
  }
  std::raise(SIGKILL);
  co_return 1;  // not reached
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: trace_crash_child kill|abort TRACE_PATH TASKS\n");
    return 2;
  }
  try {
    ls::Options options;
    options.trace_path = argv[2];
    return ls::run(amain(argv[1], argv[2], std::atoi(argv[3])), options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trace_crash_child: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "trace_crash_child: failed\n");
  }
  return 1;
}
