// The first exercise of the asyncio chapters: three "fetches" that each take one second.
// Awaited one after another they take three seconds; with gather they overlap and take one.
//
//   ./build/release/examples/fetch_three

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

// Stands in for a network call: one second of waiting that does not block the loop.
ls::Task<std::string> fetch(std::string url) {
  co_await ls::sleep(1s);
  co_return "<contents of " + url + ">";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ls::Task<int> amain() {
  auto start = std::chrono::steady_clock::now();
  const std::string a = co_await fetch("https://example.com/a");
  const std::string b = co_await fetch("https://example.com/b");
  const std::string c = co_await fetch("https://example.com/c");
  const double sequential = seconds_since(start);
  std::printf("sequential: %s %s %s in %.2f s\n", a.c_str(), b.c_str(), c.c_str(), sequential);

  start = std::chrono::steady_clock::now();
  auto [x, y, z] =
      co_await ls::gather(fetch("https://example.com/a"), fetch("https://example.com/b"),
                          fetch("https://example.com/c"));
  const double concurrent = seconds_since(start);
  std::printf("gather:     %s %s %s in %.2f s\n", x.c_str(), y.c_str(), z.c_str(), concurrent);
  std::printf("gather was %.1fx faster: the three waits overlapped on one thread\n",
              sequential / concurrent);
  co_return 0;
}

}  // namespace

int main() {
  return ls::run(amain());
}
