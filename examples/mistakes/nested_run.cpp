// Mistake: calling run() from code that already runs on the loop, asyncio's
// "asyncio.run() cannot be called from a running event loop". A synchronous wrapper
// around async code works from main() and fails once a coroutine calls it.
// Fix: inside a coroutine, `co_await read_config_async(path)`; keep the run() wrapper for
// synchronous callers only.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/nested_run

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<std::string> read_config_async(std::string path) {
  co_await ls::sleep(1ms);  // stands for reading the file
  co_return path + ": port=8080";
}

// A synchronous API over the async one, for callers that are not coroutines.
std::string read_config(const std::string& path) {
  return ls::run(read_config_async(path));
}

ls::Task<int> amain() {
  try {
    std::printf("%s\n", read_config("app.conf").c_str());  // MISTAKE: run() inside run()
  } catch (const ls::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  std::printf("%s\n", (co_await read_config_async("app.conf")).c_str());  // the fix
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
