// loopscope implementations of the anchor workloads W1-W6 (see ../../../shared/WORKLOADS.md
// and README.md here): the same constants, timed region and check values as the asyncio
// and Asio programs beside it, so that run_compare.py can put them side by side.
//
// Usage: loopscope_workloads <w1|w2|w3|w4|w5|w6>
// Prints one JSON line; exits non-zero if the check value is wrong.

#include <loopscope/loopscope.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <span>
#include <string_view>
#include <vector>

namespace ls = loopscope;

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double elapsed_s = 0.0;
  std::uint64_t ops = 0;
  const char* unit = "";
  std::uint64_t check = 0;
  std::uint64_t expected = 0;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- W1 spawn_join: 100,000 tasks that return their index; await all. ----

ls::Task<std::uint64_t> w1_child(std::uint64_t i) {
  co_return i;
}

ls::Task<Result> w1() {
  constexpr std::uint64_t kN = 100'000;
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kN);
  for (std::uint64_t i = 0; i < kN; ++i) {
    tasks.push_back(ls::spawn(w1_child(i)));
  }
  const std::vector<std::uint64_t> results = co_await ls::gather(std::move(tasks));
  std::uint64_t sum = 0;
  for (std::uint64_t r : results) {
    sum += r;
  }
  co_return Result{seconds_since(t0), kN, "tasks/s", sum, kN * (kN - 1) / 2};
}

// ---- W2 yield_round_robin: 100 tasks x 10,000 yields. ----

ls::Task<std::uint64_t> w2_yielder(std::uint64_t k) {
  std::uint64_t count = 0;
  for (std::uint64_t i = 0; i < k; ++i) {
    co_await ls::sleep(std::chrono::seconds(0));
    ++count;
  }
  co_return count;
}

ls::Task<Result> w2() {
  constexpr std::uint64_t kT = 100;
  constexpr std::uint64_t kK = 10'000;
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kT);
  for (std::uint64_t t = 0; t < kT; ++t) {
    tasks.push_back(ls::spawn(w2_yielder(kK)));
  }
  const std::vector<std::uint64_t> counts = co_await ls::gather(std::move(tasks));
  std::uint64_t total = 0;
  for (std::uint64_t c : counts) {
    total += c;
  }
  co_return Result{seconds_since(t0), kT * kK, "switches/s", total, kT * kK};
}

// ---- W3 queue_pingpong: 1 producer, 1 consumer, Queue(maxsize=10), 1,000,000 ints. ----

ls::Task<std::uint64_t> w3_producer(ls::Queue<std::uint64_t>* queue, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    co_await queue->put(i);
  }
  co_return 0;
}

ls::Task<std::uint64_t> w3_consumer(ls::Queue<std::uint64_t>* queue, std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += co_await queue->get();
  }
  co_return sum;
}

ls::Task<Result> w3() {
  constexpr std::uint64_t kN = 1'000'000;
  ls::Queue<std::uint64_t> queue(10);
  const auto t0 = Clock::now();
  auto producer = ls::spawn(w3_producer(&queue, kN));
  auto consumer = ls::spawn(w3_consumer(&queue, kN));
  auto [produced, sum] = co_await ls::gather(producer, consumer);
  co_return Result{seconds_since(t0), kN, "items/s", sum + produced, kN * (kN - 1) / 2};
}

// ---- W4 semaphore_fanout: 100,000 tasks acquire Semaphore(10), yield once, release. ----

struct FanoutStats {
  std::uint64_t held = 0;
  std::uint64_t max_held = 0;
};

ls::Task<std::uint64_t> w4_worker(ls::Semaphore* semaphore, FanoutStats* stats) {
  auto permit = co_await semaphore->acquire();
  ++stats->held;
  stats->max_held = std::max(stats->max_held, stats->held);
  co_await ls::sleep(std::chrono::seconds(0));
  --stats->held;
  co_return 1;
}

ls::Task<Result> w4() {
  constexpr std::uint64_t kN = 100'000;
  constexpr std::uint64_t kPermits = 10;
  ls::Semaphore semaphore(kPermits);
  FanoutStats stats;
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kN);
  for (std::uint64_t i = 0; i < kN; ++i) {
    tasks.push_back(ls::spawn(w4_worker(&semaphore, &stats)));
  }
  std::uint64_t completed = 0;
  for (std::uint64_t done : co_await ls::gather(std::move(tasks))) {
    completed += done;
  }
  const double elapsed = seconds_since(t0);
  if (stats.max_held != kPermits) {
    std::fprintf(stderr, "w4: max permits held = %llu, expected %llu\n",
                 static_cast<unsigned long long>(stats.max_held),
                 static_cast<unsigned long long>(kPermits));
    completed = 0;  // fails the check
  }
  co_return Result{elapsed, kN, "tasks/s", completed, kN};
}

// ---- W5 timers: 100,000 tasks each sleeping a seeded-random 0-10 ms. ----

std::uint64_t splitmix64_next(std::uint64_t& x) {
  x += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

ls::Task<std::uint64_t> w5_sleeper(std::uint64_t delay_us) {
  co_await ls::sleep(std::chrono::microseconds(delay_us));
  co_return delay_us;
}

ls::Task<Result> w5() {
  constexpr std::uint64_t kN = 100'000;
  std::vector<std::uint64_t> delays(kN);
  std::uint64_t state = 42;
  for (auto& d : delays) {
    d = splitmix64_next(state) % 10'001;
  }
  const auto t0 = Clock::now();
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(kN);
  for (std::uint64_t d : delays) {
    tasks.push_back(ls::spawn(w5_sleeper(d)));
  }
  const std::vector<std::uint64_t> slept = co_await ls::gather(std::move(tasks));
  std::uint64_t sum = 0;
  for (std::uint64_t s : slept) {
    sum += s;
  }
  co_return Result{seconds_since(t0), kN, "timers/s", sum, 499'348'982};
}

// ---- W6 tcp_echo: 50 connections x 2,000 round trips of 64 bytes on 127.0.0.1. ----

ls::Task<void> w6_echo(ls::TcpStream stream) {
  std::array<std::byte, 65'536> buffer{};
  for (;;) {
    const std::size_t n = co_await stream.read(buffer);
    if (n == 0) {
      co_return;
    }
    co_await stream.write_all(std::span<const std::byte>(buffer.data(), n));
  }
}

ls::Task<std::uint64_t> w6_client(std::uint16_t port, std::uint64_t c, std::uint64_t rounds) {
  ls::TcpStream stream = co_await ls::open_connection("127.0.0.1", port);
  std::array<std::byte, 64> message{};
  for (std::size_t k = 0; k < message.size(); ++k) {
    message[k] = static_cast<std::byte>((7 * c + k) % 256);
  }
  std::array<std::byte, 64> echo{};
  std::uint64_t matched = 0;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    co_await stream.write_all(message);
    co_await stream.read_exactly(echo);
    matched += echo == message ? 1 : 0;
  }
  stream.close();
  co_return matched;
}

ls::Task<std::uint64_t> w6_clients(std::uint16_t port, std::uint64_t clients,
                                   std::uint64_t rounds) {
  std::vector<ls::TaskHandle<std::uint64_t>> tasks;
  tasks.reserve(clients);
  for (std::uint64_t c = 0; c < clients; ++c) {
    tasks.push_back(ls::spawn(w6_client(port, c, rounds)));
  }
  std::uint64_t matched = 0;
  for (std::uint64_t m : co_await ls::gather(std::move(tasks))) {
    matched += m;
  }
  co_return matched;
}

ls::Task<Result> w6() {
  constexpr std::uint64_t kClients = 50;
  constexpr std::uint64_t kRounds = 2'000;
  ls::TcpServer server = co_await ls::start_server("127.0.0.1", 0, w6_echo, 128);
  const auto t0 = Clock::now();
  // Bounded: a run that is not done after 120 s fails instead of hanging.
  const std::uint64_t matched =
      co_await ls::timeout(std::chrono::seconds(120), w6_clients(server.port(), kClients, kRounds));
  const double elapsed = seconds_since(t0);
  server.close();
  co_await server.wait_closed();
  co_return Result{elapsed, kClients * kRounds, "round-trips/s", matched, kClients * kRounds};
}

int usage() {
  std::fprintf(stderr, "usage: loopscope_workloads <w1|w2|w3|w4|w5|w6>\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    return usage();
  }
  const std::string_view name = argv[1];
  Result result;
  try {
    if (name == "w1") {
      result = ls::run(w1());
    } else if (name == "w2") {
      result = ls::run(w2());
    } else if (name == "w3") {
      result = ls::run(w3());
    } else if (name == "w4") {
      result = ls::run(w4());
    } else if (name == "w5") {
      result = ls::run(w5());
    } else if (name == "w6") {
      result = ls::run(w6());
    } else {
      return usage();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: failed: %s\n", argv[1], e.what());
    return 1;
  }
  const bool ok = result.check == result.expected;
  std::printf(
      "{\"system\": \"loopscope\", \"workload\": \"%s\", \"elapsed_s\": %.9f, \"ops\": %llu, "
      "\"rate\": %.3f, \"unit\": \"%s\", \"check\": %llu, \"ok\": %s}\n",
      argv[1], result.elapsed_s, static_cast<unsigned long long>(result.ops),
      static_cast<double>(result.ops) / result.elapsed_s, result.unit,
      static_cast<unsigned long long>(result.check), ok ? "true" : "false");
  if (!ok) {
    std::fprintf(stderr, "%s: check failed: got %llu, expected %llu\n", argv[1],
                 static_cast<unsigned long long>(result.check),
                 static_cast<unsigned long long>(result.expected));
    return 1;
  }
  return 0;
}
