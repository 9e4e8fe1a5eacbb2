// Mistake: leaving a TaskGroup without join(), like asyncio's "Task was destroyed but it
// is pending!" when a function returns while the tasks it started still run. The early
// co_return below destroys the group with its three fetches unfinished: they are
// cancelled, and whatever they were meant to deliver never arrives.
// Fix: join on every path (`co_await tg.join();` before the co_return), or spawn the work
// only once it is known to be wanted.
//
//   LOOPSCOPE_DEBUG=1 build/release/examples/mistakes/destroyed_pending
//   (reported without LOOPSCOPE_DEBUG too)

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

ls::Task<std::string> fetch(std::string url) {
  co_await ls::sleep(50ms);
  co_return "<contents of " + url + ">";
}

ls::Task<bool> robots_allow(std::string site) {
  co_await ls::sleep(5ms);
  co_return site.find("private") == std::string::npos;
}

ls::Task<int> crawl(std::string site) {
  ls::TaskGroup tg;
  for (const char* page : {"/", "/about", "/blog"}) {
    tg.spawn(fetch(site + page));
  }
  if (!co_await robots_allow(site)) {
    co_return 0;  // MISTAKE: returns without join(): the group still has pending tasks
  }
  co_await tg.join();
  co_return 3;
}

ls::Task<int> amain() {
  const int pages = co_await crawl("https://private.example.com");
  std::printf("crawled %d pages\n", pages);
  co_return 0;
}

}  // namespace

int main() {  // NOLINT(bugprone-exception-escape): an error ends the example
  return ls::run(amain());
}
