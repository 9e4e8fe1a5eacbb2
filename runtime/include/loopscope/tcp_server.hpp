// TCP servers: TcpListener (a listening socket to accept() from) and TcpServer, which runs
// a handler task per accepted connection (asyncio.start_server).
//
//   ls::Task<void> echo(ls::TcpStream s) {
//     std::array<std::byte, 4096> buf;
//     while (std::size_t n = co_await s.read(buf)) {
//       co_await s.write_all(std::span(buf).first(n));
//     }
//   }
//   ls::TcpServer server = co_await ls::start_server("127.0.0.1", 0, echo);
//   ... server.port() ...                  // port 0: the kernel picked one
//   server.close();                        // stop accepting; connections keep running
//   co_await server.wait_closed();         // every handler has finished
//
// TcpListener::accept() tries accept4 first and suspends only when no connection is
// pending; the loop's poll phase resumes it. TcpServer's accept loop is a task of its own
// that spawns handler(stream) as a task per connection and counts those tasks. A handler
// that throws is reported on stderr ("unhandled exception in connection handler", as asyncio
// logs for client_connected_cb) and the server carries on. The handler object lives as long
// as the server or any of its connection tasks, whichever is later.
//
// Lifetime: destroying a TcpServer closes it (existing connections keep running);
// destroying a TcpListener closes its socket, and an accept() waiting on it throws EBADF.
// Both belong to the loop that created them and must be closed before that loop ends.
//
// Thread-safety: loop thread only.
#pragma once

#include <loopscope/task.hpp>
#include <loopscope/tcp_stream.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace loopscope {

namespace detail {
class ListenerState;
class ServerState;

// The type-erased handler a TcpServer calls for each connection.
class ConnectionHandlerBase {
 public:
  ConnectionHandlerBase() = default;
  ConnectionHandlerBase(const ConnectionHandlerBase&) = delete;
  ConnectionHandlerBase& operator=(const ConnectionHandlerBase&) = delete;
  ConnectionHandlerBase(ConnectionHandlerBase&&) = delete;
  ConnectionHandlerBase& operator=(ConnectionHandlerBase&&) = delete;
  virtual ~ConnectionHandlerBase() = default;
  virtual Task<void> call(TcpStream stream) = 0;
};

template <class H>
class ConnectionHandlerImpl final : public ConnectionHandlerBase {
 public:
  explicit ConnectionHandlerImpl(H handler) : handler_(std::move(handler)) {}
  Task<void> call(TcpStream stream) override { return std::invoke(handler_, std::move(stream)); }

 private:
  H handler_;
};
}  // namespace detail

// What start_server accepts: any callable taking a TcpStream and returning Task<void>.
template <class H>
concept ConnectionHandler = std::move_constructible<H> && std::invocable<H&, TcpStream> &&
    std::same_as<std::invoke_result_t<H&, TcpStream>, Task<void>>;

class TcpListener {
 public:
  static constexpr int kDefaultBacklog = 128;

  TcpListener() noexcept = default;
  // Listens on `host`:`port` with SO_REUSEADDR. Port 0 lets the kernel pick one (see port()).
  // A numeric host is used as is, "" means every IPv4 interface, and a name is resolved off
  // the loop thread (the first of its addresses that can be bound is used). Throws
  // std::system_error.
  [[nodiscard]] static Task<TcpListener> bind(std::string host, std::uint16_t port,
                                              int backlog = kDefaultBacklog);
  // Adopts `fd`, a listening socket (made non-blocking here). Closes it and throws
  // std::system_error on failure.
  static TcpListener adopt(int fd);

  TcpListener(TcpListener&& other) noexcept;
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  // The next incoming connection. One task may accept at a time (Error otherwise).
  [[nodiscard]] Task<TcpStream> accept();
  // Closes the socket: new connections are refused; a waiting accept() throws EBADF.
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;
  // The port listened on; throws std::system_error (EBADF once closed).
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] Endpoint local_address() const;
  [[nodiscard]] int native_handle() const noexcept;

 private:
  explicit TcpListener(detail::ListenerState* state) noexcept : state_(state) {}
  detail::ListenerState* state_ = nullptr;
};

class TcpServer {
 public:
  TcpServer() noexcept = default;
  // Starts accepting on `listener`: each connection runs `handler(stream)` as a task.
  template <ConnectionHandler H>
  TcpServer(TcpListener listener, H handler)
      : TcpServer(std::move(listener),
                  std::make_unique<detail::ConnectionHandlerImpl<H>>(std::move(handler))) {}

  TcpServer(TcpServer&& other) noexcept;
  TcpServer& operator=(TcpServer&& other) noexcept;
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;
  // Closes the server; connection tasks keep running.
  ~TcpServer();

  // The port the server listens (or listened, once closed) on; 0 for an empty server.
  [[nodiscard]] std::uint16_t port() const noexcept;
  // Stops accepting and closes the listening socket; connections keep running. Idempotent.
  void close() noexcept;
  [[nodiscard]] bool is_serving() const noexcept;
  // Connection tasks that have not finished.
  [[nodiscard]] std::size_t active_connections() const noexcept;

  // Suspends until the server is closed and every connection task has finished (returns at
  // once for an empty server). Any number of tasks may wait.
  [[nodiscard]] Task<void> wait_closed();
  // Suspends until the server is closed; if the waiting task is cancelled, closes the server
  // and throws CancelledError (asyncio's serve_forever).
  [[nodiscard]] Task<void> serve_forever();

 private:
  TcpServer(TcpListener listener, std::unique_ptr<detail::ConnectionHandlerBase> handler);
  detail::ServerState* state_ = nullptr;
};

// Listens on `host`:`port` (see TcpListener::bind) and serves each connection with
// `handler` (see TcpServer).
template <ConnectionHandler H>
[[nodiscard]] Task<TcpServer> start_server(std::string host, std::uint16_t port, H handler,
                                           int backlog = TcpListener::kDefaultBacklog) {
  TcpListener listener = co_await TcpListener::bind(std::move(host), port, backlog);
  co_return TcpServer(std::move(listener), std::move(handler));
}

}  // namespace loopscope
