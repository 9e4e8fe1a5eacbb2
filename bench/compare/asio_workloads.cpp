// Asio (standalone 1.22, C++20 coroutines) implementations of the anchor workloads W1-W6.
//
// Usage: asio_workloads <w1|w2|w3|w4|w5|w6>
//
// Everything runs inside one io_context (concurrency hint 1) on the main thread. The timed
// region starts inside the running main coroutine right before the first task is spawned and
// ends once the join has completed and the results are collected. One JSON line is printed on
// stdout; the process exits non-zero when the check value is wrong.

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

// Completion token that reports errors as a value instead of throwing, for the places where an
// error is an expected outcome (cancelled join timer, EOF, closed acceptor).
constexpr auto kAsTuple = asio::experimental::as_tuple(use_awaitable);

struct Result {
  double elapsed_s = 0.0;
  std::uint64_t ops = 0;
  const char* unit = "";
  std::uint64_t check = 0;
  std::uint64_t expected = 0;
  // Second pass/fail condition besides the check value (W4: max permits held).
  bool extra_ok = true;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void rethrow_if(const std::exception_ptr& e) {
  if (e) {
    // Propagates out of io_context::run() and fails the run in main().
    std::rethrow_exception(e);
  }
}

// Join as defined by WORKLOADS.md: every task completion decrements a counter and the last one
// cancels a timer the main coroutine is suspended on.
class Joiner {
 public:
  Joiner(const asio::any_io_executor& ex, std::size_t count)
      : timer_(ex, Clock::time_point::max()), remaining_(count) {}

  void done() {
    if (--remaining_ == 0) {
      timer_.cancel();
    }
  }

  awaitable<void> wait() {
    // co_spawn may run a child inline up to its first suspension, so the counter can already
    // be zero here; the loop also guards against a cancel that raced ahead of the wait.
    while (remaining_ > 0) {
      co_await timer_.async_wait(kAsTuple);
    }
  }

 private:
  asio::steady_timer timer_;
  std::size_t remaining_;
};

// Returns a co_spawn completion handler that adds each task's value to *sum and joins.
auto summing_handler(std::uint64_t* sum, Joiner* join) {
  return [sum, join](const std::exception_ptr& e, std::uint64_t value) {
    rethrow_if(e);
    *sum += value;
    join->done();
  };
}

// ---------------------------------------------------------------------------------------------
// W1 spawn_join

awaitable<std::uint64_t> w1_child(std::uint64_t i) {
  co_return i;
}

awaitable<Result> run_w1() {
  constexpr std::uint64_t kN = 100'000;
  const auto ex = co_await asio::this_coro::executor;
  Joiner join(ex, kN);
  std::uint64_t sum = 0;

  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < kN; ++i) {
    asio::co_spawn(ex, w1_child(i), summing_handler(&sum, &join));
  }
  co_await join.wait();
  const double elapsed = seconds_since(t0);

  co_return Result{elapsed, kN, "tasks/s", sum, kN * (kN - 1) / 2};
}

// ---------------------------------------------------------------------------------------------
// W2 yield_round_robin

awaitable<std::uint64_t> w2_worker(std::uint64_t yields) {
  const auto ex = co_await asio::this_coro::executor;
  std::uint64_t count = 0;
  for (std::uint64_t k = 0; k < yields; ++k) {
    // post() queues the continuation at the back of the ready queue: Asio's "yield".
    co_await asio::post(ex, use_awaitable);
    ++count;
  }
  co_return count;
}

awaitable<Result> run_w2() {
  constexpr std::uint64_t kTasks = 100;
  constexpr std::uint64_t kYields = 10'000;
  const auto ex = co_await asio::this_coro::executor;
  Joiner join(ex, kTasks);
  std::uint64_t total = 0;

  const auto t0 = Clock::now();
  for (std::uint64_t t = 0; t < kTasks; ++t) {
    asio::co_spawn(ex, w2_worker(kYields), summing_handler(&total, &join));
  }
  co_await join.wait();
  const double elapsed = seconds_since(t0);

  co_return Result{elapsed, kTasks * kYields, "switches/s", total, kTasks * kYields};
}

// ---------------------------------------------------------------------------------------------
// W3 queue_pingpong

using IntChannel = asio::experimental::channel<void(asio::error_code, std::uint64_t)>;

awaitable<std::uint64_t> w3_producer(IntChannel* ch, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    co_await ch->async_send(asio::error_code{}, i, use_awaitable);
  }
  co_return 0;  // contributes nothing to the sum
}

awaitable<std::uint64_t> w3_consumer(IntChannel* ch, std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += co_await ch->async_receive(use_awaitable);
  }
  co_return sum;
}

awaitable<Result> run_w3() {
  constexpr std::uint64_t kN = 1'000'000;
  const auto ex = co_await asio::this_coro::executor;
  IntChannel ch(ex, 10);
  Joiner join(ex, 2);
  std::uint64_t sum = 0;

  const auto t0 = Clock::now();
  asio::co_spawn(ex, w3_producer(&ch, kN), summing_handler(&sum, &join));
  asio::co_spawn(ex, w3_consumer(&ch, kN), summing_handler(&sum, &join));
  co_await join.wait();
  const double elapsed = seconds_since(t0);

  co_return Result{elapsed, kN, "items/s", sum, kN * (kN - 1) / 2};
}

// ---------------------------------------------------------------------------------------------
// W4 semaphore_fanout (emulated: Asio has no semaphore)
//
// A capacity-10 channel is a token bucket: acquiring a permit is async_send (it suspends in
// FIFO order once 10 tokens are buffered), releasing is try_receive, which pops a token and
// moves the oldest waiting sender's token into the buffer, completing that sender. The dummy
// uint8_t payload exists only because channel<void(error_code)> does not compile in 1.22.1.

using TokenChannel = asio::experimental::channel<void(asio::error_code, std::uint8_t)>;

struct SemStats {
  std::uint64_t held = 0;
  std::uint64_t max_held = 0;
};

awaitable<std::uint64_t> w4_worker(TokenChannel* sem, SemStats* stats) {
  const auto ex = co_await asio::this_coro::executor;
  co_await sem->async_send(asio::error_code{}, std::uint8_t{0}, use_awaitable);
  ++stats->held;
  stats->max_held = std::max(stats->max_held, stats->held);
  co_await asio::post(ex, use_awaitable);
  --stats->held;
  if (!sem->try_receive([](asio::error_code, std::uint8_t) {})) {
    // A permit we hold must be in the buffer; anything else is a broken emulation.
    throw std::runtime_error("w4: release found no token in the channel");
  }
  co_return 1;
}

awaitable<Result> run_w4() {
  constexpr std::uint64_t kN = 100'000;
  constexpr std::uint64_t kPermits = 10;
  const auto ex = co_await asio::this_coro::executor;
  TokenChannel sem(ex, kPermits);
  SemStats stats;
  Joiner join(ex, kN);
  std::uint64_t completed = 0;

  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < kN; ++i) {
    asio::co_spawn(ex, w4_worker(&sem, &stats), summing_handler(&completed, &join));
  }
  co_await join.wait();
  const double elapsed = seconds_since(t0);

  if (stats.max_held != kPermits) {
    std::fprintf(stderr, "w4: max permits held = %llu, expected %llu\n",
                 static_cast<unsigned long long>(stats.max_held),
                 static_cast<unsigned long long>(kPermits));
  }
  co_return Result{elapsed, kN, "tasks/s", completed, kN, stats.max_held == kPermits};
}

// ---------------------------------------------------------------------------------------------
// W5 timers

std::uint64_t splitmix64_next(std::uint64_t& x) {
  x += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

awaitable<std::uint64_t> w5_sleeper(std::uint64_t delay_us) {
  // The deadline is computed here, when the task first runs.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::microseconds(delay_us));
  co_await timer.async_wait(use_awaitable);
  co_return delay_us;
}

awaitable<Result> run_w5() {
  constexpr std::uint64_t kN = 100'000;
  const auto ex = co_await asio::this_coro::executor;
  std::vector<std::uint64_t> delays(kN);
  std::uint64_t state = 42;
  for (auto& d : delays) {
    d = splitmix64_next(state) % 10'001;
  }
  Joiner join(ex, kN);
  std::uint64_t sum = 0;

  const auto t0 = Clock::now();
  for (const std::uint64_t d : delays) {
    asio::co_spawn(ex, w5_sleeper(d), summing_handler(&sum, &join));
  }
  co_await join.wait();
  const double elapsed = seconds_since(t0);

  co_return Result{elapsed, kN, "timers/s", sum, 499'348'982};
}

// ---------------------------------------------------------------------------------------------
// W6 tcp_echo

constexpr std::size_t kMsgLen = 64;

awaitable<void> echo_session(tcp::socket sock) {
  sock.set_option(tcp::no_delay(true));
  std::vector<char> buf(65'536);
  for (;;) {
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), kAsTuple);
    if (ec == asio::error::eof) {
      co_return;
    }
    if (ec) {
      throw std::system_error(ec, "echo server read");
    }
    co_await asio::async_write(sock, asio::buffer(buf.data(), n), use_awaitable);
  }
}

awaitable<void> accept_loop(tcp::acceptor* acceptor) {
  for (;;) {
    auto [ec, sock] = co_await acceptor->async_accept(kAsTuple);
    if (ec == asio::error::operation_aborted) {
      co_return;  // the acceptor is closed once all clients are done
    }
    if (ec) {
      throw std::system_error(ec, "accept");
    }
    asio::co_spawn(acceptor->get_executor(), echo_session(std::move(sock)), rethrow_if);
  }
}

awaitable<std::uint64_t> echo_client(tcp::endpoint server, std::uint64_t c, std::uint64_t rounds) {
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(server, use_awaitable);
  sock.set_option(tcp::no_delay(true));

  std::array<std::uint8_t, kMsgLen> msg{};
  for (std::size_t k = 0; k < kMsgLen; ++k) {
    msg[k] = static_cast<std::uint8_t>((7 * c + k) % 256);
  }
  std::array<std::uint8_t, kMsgLen> echo{};
  std::uint64_t matched = 0;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    co_await asio::async_write(sock, asio::buffer(msg), use_awaitable);
    co_await asio::async_read(sock, asio::buffer(echo), use_awaitable);
    if (echo == msg) {
      ++matched;
    }
  }
  sock.close();
  co_return matched;
}

awaitable<Result> run_w6() {
  constexpr std::uint64_t kClients = 50;
  constexpr std::uint64_t kRounds = 2'000;
  const auto ex = co_await asio::this_coro::executor;

  // Bounded run: a hung echo must not hang the benchmark runner.
  asio::steady_timer watchdog(ex, std::chrono::seconds(120));
  watchdog.async_wait([](asio::error_code ec) {
    if (!ec) {
      std::fprintf(stderr, "w6: clients not done after 120 s\n");
      std::_Exit(1);
    }
  });

  const tcp::endpoint listen_at(asio::ip::make_address("127.0.0.1"), 0);
  tcp::acceptor acceptor(ex);
  acceptor.open(listen_at.protocol());
  acceptor.bind(listen_at);
  acceptor.listen(128);
  const tcp::endpoint server = acceptor.local_endpoint();
  asio::co_spawn(ex, accept_loop(&acceptor), rethrow_if);

  Joiner join(ex, kClients);
  std::uint64_t matched = 0;

  const auto t0 = Clock::now();
  for (std::uint64_t c = 0; c < kClients; ++c) {
    asio::co_spawn(ex, echo_client(server, c, kRounds), summing_handler(&matched, &join));
  }
  co_await join.wait();
  const double elapsed = seconds_since(t0);

  // Let io_context::run() return: stop the watchdog and the accept loop. The server sessions
  // end on their own, having read EOF from the closed client sockets.
  watchdog.cancel();
  acceptor.close();
  co_return Result{elapsed, kClients * kRounds, "round-trips/s", matched, kClients * kRounds};
}

// ---------------------------------------------------------------------------------------------

struct Workload {
  std::string_view id;
  awaitable<Result> (*run)();
};

constexpr std::array<Workload, 6> kWorkloads{{
    {"w1", run_w1},
    {"w2", run_w2},
    {"w3", run_w3},
    {"w4", run_w4},
    {"w5", run_w5},
    {"w6", run_w6},
}};

int usage() {
  std::fprintf(stderr, "usage: asio_workloads <w1|w2|w3|w4|w5|w6>\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    return usage();
  }
  const std::string_view id = argv[1];
  const auto it = std::find_if(kWorkloads.begin(), kWorkloads.end(),
                               [id](const Workload& w) { return w.id == id; });
  if (it == kWorkloads.end()) {
    return usage();
  }

  Result result;
  bool finished = false;
  try {
    asio::io_context ctx(1);
    asio::co_spawn(ctx, it->run(), [&](const std::exception_ptr& e, const Result& r) {
      rethrow_if(e);
      result = r;
      finished = true;
    });
    ctx.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: failed: %s\n", argv[1], e.what());
    return 1;
  }
  if (!finished) {
    std::fprintf(stderr, "%s: event loop stopped before the workload finished\n", argv[1]);
    return 1;
  }

  const bool ok = result.check == result.expected && result.extra_ok;
  const char* system = id == "w4" ? "asio (emulated sem.)" : "asio";
  const double rate =
      result.elapsed_s > 0.0 ? static_cast<double>(result.ops) / result.elapsed_s : 0.0;
  std::printf(
      "{\"system\": \"%s\", \"workload\": \"%s\", \"elapsed_s\": %.9f, \"ops\": %llu, "
      "\"rate\": %.3f, \"unit\": \"%s\", \"check\": %llu, \"ok\": %s}\n",
      system, argv[1], result.elapsed_s, static_cast<unsigned long long>(result.ops), rate,
      result.unit, static_cast<unsigned long long>(result.check), ok ? "true" : "false");
  std::fflush(stdout);
  if (!ok) {
    std::fprintf(stderr, "%s: check failed: got %llu, expected %llu\n", argv[1],
                 static_cast<unsigned long long>(result.check),
                 static_cast<unsigned long long>(result.expected));
    return 1;
  }
  return 0;
}
