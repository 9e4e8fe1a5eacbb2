// "Fetch 100 URLs, at most N at a time": the Semaphore pattern of the asyncio chapters.
//
// A local HTTP-ish server answers each request after 20 ms. The client fetches 100 paths
// over TCP with Semaphore(1), Semaphore(10) and Semaphore(100) bounding the fan-out, and
// prints how long each took: about 2 s, 0.2 s and 0.02 s.
//
//   ./build/release/examples/fetch_with_semaphore

#include <loopscope/loopscope.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace ls = loopscope;
using namespace std::chrono_literals;

namespace {

constexpr int kUrls = 100;
constexpr auto kServerDelay = 20ms;

// One request per connection: read the request line and headers, think, answer.
ls::Task<void> serve(ls::TcpStream stream) {
  const std::string request = co_await stream.read_until("\r\n\r\n");
  const std::string path = request.substr(4, request.find(' ', 4) - 4);
  co_await ls::sleep(kServerDelay);
  const std::string body = "contents of " + path;
  co_await stream.write_all("HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body);
}

ls::Task<std::size_t> fetch(std::uint16_t port, std::string path) {
  ls::TcpStream stream = co_await ls::open_connection("127.0.0.1", port);
  co_await stream.write_all("GET " + path + " HTTP/1.0\r\n\r\n");
  const std::string headers = co_await stream.read_until("\r\n\r\n");
  const auto length_at = headers.find("Content-Length: ") + 16;
  const std::size_t length = std::stoul(headers.substr(length_at));
  const std::vector<std::byte> body = co_await stream.read_exactly(length);
  co_return body.size();
}

// The pattern: acquire before the work, release (the guard) after it.
ls::Task<std::size_t> bounded_fetch(ls::Semaphore* limit, std::uint16_t port, std::string path) {
  auto permit = co_await limit->acquire();
  co_return co_await fetch(port, std::move(path));
}

ls::Task<int> amain() {
  ls::TcpServer server = co_await ls::start_server("127.0.0.1", 0, serve);
  std::printf("server on 127.0.0.1:%u answers every request after %lld ms\n", server.port(),
              static_cast<long long>(kServerDelay.count()));
  for (const std::size_t concurrency : {1, 10, 100}) {
    ls::Semaphore limit(concurrency);
    std::vector<ls::Task<std::size_t>> fetches;
    for (int i = 0; i < kUrls; ++i) {
      fetches.push_back(bounded_fetch(&limit, server.port(), "/page/" + std::to_string(i)));
    }
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::size_t> sizes = co_await ls::gather(std::move(fetches));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::size_t bytes = 0;
    for (std::size_t s : sizes) {
      bytes += s;
    }
    std::printf("Semaphore(%3zu): %d URLs, %zu bytes in %.3f s\n", concurrency, kUrls, bytes,
                seconds);
  }
  server.close();
  co_await server.wait_closed();
  co_return 0;
}

}  // namespace

int main() {
  return ls::run(amain());
}
