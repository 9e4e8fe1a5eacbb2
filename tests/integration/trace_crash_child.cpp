// A traced program that dies in the middle of its run, for trace_crash_test.cpp.
//
//   trace_crash_child kill|abort TRACE_PATH TASKS
//
// It spawns and awaits TASKS tasks, then keeps its loop busy until it sees the collector
// complete two writes of the trace file, and then dies: SIGKILL (nothing of the process runs
// any more) or std::abort() (no destructor runs, so no end chunk). Two writes because the
// first one seen may have drained the ring before the tasks were recorded; the second
// drained it after the first completed, so it holds every task created before. No timing is
// involved: the collector writes at least every 100 ms, and the loop waits for that by
// yielding, not by sleeping.
#include <loopscope/loopscope.hpp>

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

ls::Task<int> amain(std::string mode, std::string path, int tasks) {
  for (int i = 0; i < tasks; ++i) {
    auto handle = ls::spawn(work(i));
    co_await handle;
  }
  long long size = file_size(path);
  for (int writes = 0; writes < 2;) {
    co_await ls::sleep(0s);
    const long long now = file_size(path);
    if (now != size) {
      ++writes;
      size = now;
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
