// TCP tests run on the real clock (I/O does not mix with a virtual clock that jumps) over
// 127.0.0.1 with kernel-chosen ports. Each body runs under a 10 s timeout so that a bug
// fails the test instead of hanging it; no passing test comes near it.
#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <netinet/in.h>
#include <span>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;

template <class T>
T run_tcp(Task<T> body) {
  return run(timeout(10s, std::move(body)));
}

std::string as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

int error_of(const std::system_error& e) {
  return e.code().value();
}

Task<void> yield_times(int n) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(0s);
  }
}

Task<void> echo(TcpStream s) {
  std::array<std::byte, 4096> buf{};
  while (const std::size_t n = co_await s.read(buf)) {
    co_await s.write_all(std::span(buf).first(n));
  }
}

// Sends `text`, then half-closes: the client reads it and then end of stream.
Task<void> send_and_shutdown(TcpStream s, std::string text) {
  co_await s.write_all(text);
  s.shutdown_write();
  std::array<std::byte, 16> buf{};
  while (co_await s.read(buf) > 0) {
  }
}

// ---- many clients ------------------------------------------------------------------------

Task<int> echo_client(std::uint16_t port, int c, int rounds) {
  TcpStream s = co_await open_connection("127.0.0.1", port);
  std::array<std::byte, 64> msg{};
  std::array<std::byte, 64> reply{};
  int matched = 0;
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < msg.size(); ++k) {
      msg[k] = static_cast<std::byte>((7 * c + 3 * r + static_cast<int>(k)) % 256);
    }
    co_await s.write_all(msg);
    co_await s.read_exactly(reply);
    matched += reply == msg ? 1 : 0;
  }
  co_return matched;
}

TEST(TcpServer, EchoesEveryByteToFiftyClientsOfAHundredRoundTripsEach) {
  auto body = []() -> Task<int> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    std::vector<Task<int>> clients;
    for (int c = 0; c < 50; ++c) {
      clients.push_back(echo_client(server.port(), c, 100));
    }
    std::vector<int> matched = co_await gather(std::move(clients));
    server.close();
    co_await server.wait_closed();  // every client closed its stream: the handlers end
    int total = 0;
    for (int m : matched) {
      total += m;
    }
    co_return total;
  };
  EXPECT_EQ(run_tcp(body()), 50 * 100);
}

// ---- reading -------------------------------------------------------------------------------

Task<void> write_in_pieces(TcpStream s) {
  co_await s.write_all("hello");
  co_await yield_times(3);
  co_await s.write_all("world and more");
  co_await yield_times(3);
  s.shutdown_write();
  std::array<std::byte, 16> buf{};
  while (co_await s.read(buf) > 0) {
  }
}

TEST(TcpStream, ReadExactlyGathersBytesAcrossSeveralWrites) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, write_in_pieces);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    std::vector<std::byte> first = co_await s.read_exactly(10);
    EXPECT_EQ(as_text(first), "helloworld");
    std::array<std::byte, 4> span_target{};
    co_await s.read_exactly(span_target);
    EXPECT_EQ(as_text(span_target), " and");
    try {
      co_await s.read_exactly(10);
      ADD_FAILURE() << "read_exactly past the end did not throw";
    } catch (const IncompleteReadError& e) {
      EXPECT_EQ(as_text(e.partial()), " more");
      EXPECT_EQ(e.expected(), 10U);
    }
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(co_await s.read(buf), 0U);  // end of stream, and it stays so
    EXPECT_EQ(co_await s.read(buf), 0U);
  };
  run_tcp(body());
}

Task<void> send_lines(TcpStream s) {
  co_await send_and_shutdown(std::move(s), "first\nsecond\r");
}

Task<void> send_rest_of_line(TcpStream s) {
  co_await s.write_all("second\r");
  co_await yield_times(3);  // lets the reader see a delimiter cut in two
  co_await s.write_all("\nthe rest");
  s.shutdown_write();
  std::array<std::byte, 16> buf{};
  while (co_await s.read(buf) > 0) {
  }
}

TEST(TcpStream, ReadUntilIncludesTheDelimiterAndLeavesTheRestForLaterReads) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, send_rest_of_line);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    EXPECT_EQ(co_await s.read_until("\r\n"), "second\r\n");
    std::array<std::byte, 64> buf{};
    std::string rest;
    while (const std::size_t n = co_await s.read(buf)) {
      rest += as_text(std::span(buf).first(n));
    }
    EXPECT_EQ(rest, "the rest");
  };
  run_tcp(body());
}

TEST(TcpStream, ReadUntilThrowsIncompleteReadErrorWithWhatWasLeftAtEndOfStream) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, send_lines);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    EXPECT_EQ(co_await s.read_until("\n"), "first\n");
    try {
      co_await s.read_until("\n");
      ADD_FAILURE() << "read_until at end of stream did not throw";
    } catch (const IncompleteReadError& e) {
      EXPECT_EQ(as_text(e.partial()), "second\r");
      EXPECT_FALSE(e.expected().has_value());
    }
  };
  run_tcp(body());
}

Task<void> send_digits(TcpStream s) {
  co_await send_and_shutdown(std::move(s), "0123456789\n");
}

TEST(TcpStream, ReadUntilPastTheLimitThrowsAndKeepsTheDataBuffered) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, send_digits);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    EXPECT_THROW(co_await s.read_until("\n", 5), LimitOverrunError);
    EXPECT_EQ(co_await s.read_until("\n"), "0123456789\n");
    EXPECT_THROW(co_await s.read_until(""), Error);
  };
  run_tcp(body());
}

// ---- errors --------------------------------------------------------------------------------

TEST(OpenConnection, ToAPortThatWasJustClosedThrowsConnectionRefused) {
  auto body = []() -> Task<int> {
    TcpListener listener = co_await TcpListener::bind("127.0.0.1", 0);
    const std::uint16_t port = listener.port();
    listener.close();
    try {
      TcpStream s = co_await open_connection("127.0.0.1", port);
    } catch (const std::system_error& e) {
      co_return error_of(e);
    }
    co_return 0;
  };
  EXPECT_EQ(run_tcp(body()), ECONNREFUSED);
}

Task<void> reset_at_once(TcpStream s) {
  // SO_LINGER {1, 0}: close() sends RST instead of FIN.
  const linger abort{1, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  s.close();
  co_return;
}

TEST(TcpStream, APeerResetIsReportedAsConnectionResetAndWritesDoNotRaiseSigpipe) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, reset_at_once);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    std::array<std::byte, 16> buf{};
    try {
      co_await s.read(buf);
      ADD_FAILURE() << "read after a reset did not throw";
    } catch (const std::system_error& e) {
      EXPECT_EQ(error_of(e), ECONNRESET) << e.what();
    }
    try {
      for (int i = 0; i < 100; ++i) {
        co_await s.write_all("anyone there?");
      }
      ADD_FAILURE() << "writes after a reset did not throw";
    } catch (const std::system_error& e) {
      EXPECT_TRUE(error_of(e) == EPIPE || error_of(e) == ECONNRESET) << e.what();
    }
  };
  run_tcp(body());
}

// ---- cancellation and concurrent use ---------------------------------------------------------

Task<std::size_t> read_into(TcpStream* s, std::span<std::byte> buf) {
  co_return co_await s->read(buf);
}

TEST(TcpStream, CancellingABlockedReadLeavesTheStreamUsable) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    std::array<std::byte, 16> buf{};
    auto blocked = spawn(read_into(&s, buf));
    co_await yield_times(2);
    EXPECT_FALSE(blocked.done());
    blocked.cancel();
    EXPECT_THROW(co_await blocked, CancelledError);
    EXPECT_THROW(co_await timeout(10ms, s.read(buf)), TimeoutError);

    co_await s.write_all("ping");
    auto reader = spawn(read_into(&s, buf));
    const std::size_t n = co_await reader;
    EXPECT_EQ(as_text(std::span(buf).first(n)), "ping");
  };
  run_tcp(body());
}

Task<void> read_exactly_into(TcpStream* s, std::span<std::byte> buf) {
  co_await s->read_exactly(buf);
}

TEST(TcpStream, ACancelledReadExactlyGivesBackTheBytesItHadRead) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    co_await s.write_all("abc");
    std::array<std::byte, 6> buf{};
    auto blocked = spawn(read_exactly_into(&s, buf));
    co_await yield_times(4);  // the echo arrives and the reader takes "abc"
    blocked.cancel();
    EXPECT_THROW(co_await blocked, CancelledError);
    co_await s.write_all("def");
    std::vector<std::byte> all = co_await s.read_exactly(6);
    EXPECT_EQ(as_text(all), "abcdef");
  };
  run_tcp(body());
}

TEST(TcpStream, ASecondConcurrentReadThrowsError) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    std::array<std::byte, 16> buf{};
    std::array<std::byte, 16> other{};
    auto first = spawn(read_into(&s, buf));
    co_await yield_times(2);
    EXPECT_THROW(co_await s.read(other), Error);
    EXPECT_THROW(co_await s.read_until("\n"), Error);
    co_await s.write_all("x");
    EXPECT_EQ(co_await first, 1U);  // the first reader was not disturbed
  };
  run_tcp(body());
}

TEST(TcpStream, CloseWakesAWaitingReaderWithEbadfAndIsIdempotent) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    TcpStream s = co_await open_connection("127.0.0.1", server.port());
    std::array<std::byte, 16> buf{};
    auto blocked = spawn(read_into(&s, buf));
    co_await yield_times(2);
    s.close();
    s.close();
    EXPECT_FALSE(s.is_open());
    try {
      co_await blocked;
      ADD_FAILURE() << "a reader of a closed stream returned";
    } catch (const std::system_error& e) {
      EXPECT_EQ(error_of(e), EBADF);
    }
    EXPECT_THROW(co_await s.write_all("x"), std::system_error);
  };
  run_tcp(body());
}

TEST(TcpStream, MovingOrDestroyingAStreamWhileATaskReadsFromItIsSafe) {
  auto body = []() -> Task<void> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    TcpStream original = co_await open_connection("127.0.0.1", server.port());
    std::array<std::byte, 16> buf{};
    auto reader = spawn(read_into(&original, buf));
    co_await yield_times(2);
    auto moved = std::make_unique<TcpStream>(std::move(original));
    EXPECT_FALSE(original.is_open());  // NOLINT(bugprone-use-after-move): checking the move
    co_await moved->write_all("moved");
    EXPECT_EQ(co_await reader, 5U);
    EXPECT_EQ(as_text(std::span(buf).first(5)), "moved");

    auto orphan = spawn(read_into(moved.get(), buf));
    co_await yield_times(2);
    moved.reset();  // the waiting reader is woken with EBADF, nothing dangles
    try {
      co_await orphan;
      ADD_FAILURE() << "a reader of a destroyed stream returned";
    } catch (const std::system_error& e) {
      EXPECT_EQ(error_of(e), EBADF);
    }
  };
  run_tcp(body());
}

Task<TcpStream> adopt_socket(int fd) {
  co_return TcpStream::adopt(fd);
}

TEST(TcpStream, AStreamThatOutlivesItsLoopCanStillBeClosed) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0);
  TcpStream stream = run(adopt_socket(fds[0]));
  EXPECT_TRUE(stream.is_open());
  stream.close();
  EXPECT_FALSE(stream.is_open());
  ::close(fds[1]);
}

// ---- writing -------------------------------------------------------------------------------

Task<std::size_t> count_until_end(TcpStream s) {
  std::array<std::byte, 4096> buf{};
  std::size_t total = 0;
  while (const std::size_t n = co_await s.read(buf)) {
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] != static_cast<std::byte>((total + i) % 251)) {
        co_return 0;
      }
    }
    total += n;
  }
  co_return total;
}

TEST(TcpStream, WriteAllSendsMoreThanTheSocketBuffersHoldAndShutdownEndsTheStream) {
  // Filled before the loop runs: 16 MiB written byte by byte is a long step under the
  // sanitizers, which debug mode would rightly report as slow.
  std::vector<std::byte> data(16 << 20);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::byte>(i % 251);
  }
  auto body = [](std::span<const std::byte> payload) -> Task<std::size_t> {
    TcpListener listener = co_await TcpListener::bind("127.0.0.1", 0);
    TcpStream client = co_await open_connection("127.0.0.1", listener.port());
    auto counter = spawn(count_until_end(co_await listener.accept()));
    co_await client.write_all(payload);
    client.shutdown_write();
    co_return co_await counter;
  };
  EXPECT_EQ(run_tcp(body(data)), std::size_t{16} << 20);
}

Task<void> write_from(TcpStream* s, std::span<const std::byte> data) {
  co_await s->write_all(data);
}

TEST(TcpStream, ASecondConcurrentWriteThrowsAndACancelledWriteLeavesTheStreamOpen) {
  const std::vector<std::byte> big(std::size_t{32} << 20);  // made before the loop runs
  auto body = [](std::span<const std::byte> payload) -> Task<void> {
    TcpListener listener = co_await TcpListener::bind("127.0.0.1", 0);
    TcpStream client = co_await open_connection("127.0.0.1", listener.port());
    TcpStream idle_peer = co_await listener.accept();  // never reads: the buffers fill up
    auto writer = spawn(write_from(&client, payload));
    co_await yield_times(3);
    EXPECT_FALSE(writer.done());
    EXPECT_THROW(co_await client.write_all("x"), Error);
    writer.cancel();
    EXPECT_THROW(co_await writer, CancelledError);
    EXPECT_TRUE(client.is_open());
    EXPECT_TRUE(idle_peer.is_open());
  };
  run_tcp(body(big));
}

// ---- servers -------------------------------------------------------------------------------

Task<void> hold_until_end(TcpStream s, Event* started) {
  started->set();
  std::array<std::byte, 16> buf{};
  while (co_await s.read(buf) > 0) {
  }
}

TEST(TcpServer, CloseStopsAcceptingAndWaitClosedWaitsForTheRunningHandlers) {
  auto body = []() -> Task<void> {
    Event started;
    TcpServer server = co_await start_server(
        "127.0.0.1", 0, [&started](TcpStream s) { return hold_until_end(std::move(s), &started); });
    TcpStream client = co_await open_connection("127.0.0.1", server.port());
    co_await started.wait();
    EXPECT_EQ(server.active_connections(), 1U);
    server.close();
    EXPECT_FALSE(server.is_serving());
    EXPECT_THROW(co_await open_connection("127.0.0.1", server.port()), std::system_error);

    auto closed = spawn(server.wait_closed());
    co_await yield_times(3);
    EXPECT_FALSE(closed.done());  // the handler still runs
    client.close();
    co_await closed;
    EXPECT_EQ(server.active_connections(), 0U);
  };
  run_tcp(body());
}

Task<void> fail_first(TcpStream s, int* calls) {
  if ((*calls)++ == 0) {
    throw std::runtime_error("handler failed");
  }
  co_await echo(std::move(s));
}

TEST(TcpServer, AHandlerThatThrowsIsReportedAndTheServerKeepsServing) {
  auto body = []() -> Task<void> {
    int calls = 0;
    TcpServer server = co_await start_server(
        "127.0.0.1", 0, [&calls](TcpStream s) { return fail_first(std::move(s), &calls); });
    TcpStream first = co_await open_connection("127.0.0.1", server.port());
    std::array<std::byte, 16> buf{};
    EXPECT_EQ(co_await first.read(buf), 0U);  // the failed handler's stream was closed
    TcpStream second = co_await open_connection("127.0.0.1", server.port());
    co_await second.write_all("still here");
    std::vector<std::byte> reply = co_await second.read_exactly(10);
    EXPECT_EQ(as_text(reply), "still here");
    EXPECT_TRUE(server.is_serving());
  };
  ::testing::internal::CaptureStderr();
  run_tcp(body());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unhandled exception in connection handler"), std::string::npos) << err;
  EXPECT_NE(err.find("handler failed"), std::string::npos) << err;
}

Task<void> serve_then_report(TcpServer* server, bool* returned) {
  co_await server->serve_forever();
  *returned = true;
}

TEST(TcpServer, ServeForeverReturnsOnCloseAndClosesTheServerWhenCancelled) {
  auto body = []() -> Task<void> {
    TcpServer first = co_await start_server("127.0.0.1", 0, echo);
    bool returned = false;
    auto serving = spawn(serve_then_report(&first, &returned));
    co_await yield_times(2);
    first.close();
    co_await serving;
    EXPECT_TRUE(returned);

    TcpServer second = co_await start_server("127.0.0.1", 0, echo);
    auto forever = spawn(second.serve_forever());
    co_await yield_times(2);
    forever.cancel();
    EXPECT_THROW(co_await forever, CancelledError);
    EXPECT_FALSE(second.is_serving());
    co_await second.wait_closed();
  };
  run_tcp(body());
}

TEST(TcpListener, AcceptsConnectionsAndReportsBothEnds) {
  auto body = []() -> Task<void> {
    TcpListener listener = co_await TcpListener::bind("127.0.0.1", 0);
    TcpStream client = co_await open_connection("127.0.0.1", listener.port());
    TcpStream accepted = co_await listener.accept();
    EXPECT_EQ(accepted.local_port(), listener.port());
    EXPECT_EQ(client.peer_address().port, listener.port());
    EXPECT_EQ(client.peer_address().host, "127.0.0.1");
    EXPECT_EQ(accepted.peer_address().port, client.local_port());
    EXPECT_EQ(accepted.peer_address().to_string(),
              "127.0.0.1:" + std::to_string(client.local_port()));
    EXPECT_EQ((Endpoint{"::1", 80}).to_string(), "[::1]:80");
    co_await client.write_all("hi");
    std::vector<std::byte> got = co_await accepted.read_exactly(2);
    EXPECT_EQ(as_text(got), "hi");
  };
  run_tcp(body());
}

TEST(OpenConnection, ResolvesLocalhost) {
  auto body = []() -> Task<std::string> {
    TcpServer server = co_await start_server("127.0.0.1", 0, echo);
    TcpStream s = co_await open_connection("localhost", server.port());
    co_await s.write_all("named");
    std::vector<std::byte> reply = co_await s.read_exactly(5);
    EXPECT_EQ(s.peer_address().host, "127.0.0.1");
    co_return as_text(reply);
  };
  EXPECT_EQ(run_tcp(body()), "named");
}

}  // namespace
}  // namespace loopscope
