// Mistake: calling a coroutine and not awaiting it, asyncio's "coroutine ... was never
// awaited". A Task is lazy: creating it runs nothing. Here the audit log is never written.
// (Discarding the Task outright does not compile, since Task is [[nodiscard]]; keeping it
// in a variable and forgetting the co_await does.)
// Fix: `co_await save_audit_log(id);`, or `ls::spawn(save_audit_log(id))` to run it
// concurrently (and await the handle later).
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/never_awaited
//   (reported without LOOPSCOPE_DEBUG too; debug mode adds where it was created)

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<void> save_audit_log(int user_id) {
  co_await ls::sleep(1ms);  // stands for a database write
  std::printf("audit log: user %d looked up\n", user_id);
}

ls::Task<std::string> get_user(int user_id) {
  auto audit = save_audit_log(user_id);  // MISTAKE: created, never awaited: it never runs
  co_await ls::sleep(5ms);               // the lookup itself
  co_return "alice";
}

ls::Task<int> amain() {
  const std::string name = co_await get_user(42);
  std::printf("user 42 is %s\n", name.c_str());
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
