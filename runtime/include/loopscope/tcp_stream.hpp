// TcpStream: a connected TCP socket driven by the event loop (asyncio's StreamReader and
// StreamWriter in one object), and open_connection(), which makes one.
//
//   ls::TcpStream s = co_await ls::open_connection("127.0.0.1", 8080);
//   co_await s.write_all("ping\n");
//   std::string line = co_await s.read_until("\n");     // "pong\n"
//   std::array<std::byte, 64> buf;
//   co_await s.read_exactly(buf);                         // fills buf, or IncompleteReadError
//   std::size_t n = co_await s.read(buf);                 // 0 at end of stream
//   s.shutdown_write();                                   // the peer reads end of stream
//
// The socket is non-blocking, with TCP_NODELAY. Each operation first tries the syscall and
// suspends only when the kernel has nothing to give (or no room to take); the loop's poll
// phase then resumes the task through the run queue when the socket is ready. Reads are
// served from an internal buffer first: read_until() and read() may read ahead into it, and
// every later read consumes it before touching the socket.
//
// At most one task reads and one task writes at a time: a second concurrent read (or
// write_all) throws loopscope::Error. The buffers passed to an operation must stay alive
// until its task has finished (await it at once).
//
// Errors: std::system_error with the errno (ECONNREFUSED, ECONNRESET, EPIPE: writes use
// MSG_NOSIGNAL, so SIGPIPE never kills the process); EBADF once the stream is closed,
// including for a task that was waiting on it. Time limits come from loopscope::timeout.
//
// Cancellation (or a timeout) of a task suspended in an operation throws CancelledError and
// leaves the stream usable. Reads lose nothing: a cancelled read consumed no bytes (a
// read_exactly that was cancelled half-way puts what it had back into the buffer). A
// write_all cancelled half-way has sent some prefix of its data, and the caller cannot know
// how much: unless the protocol can resynchronise, close the stream.
//
// Lifetime: a stream belongs to the loop that created it and must be closed (or destroyed)
// before that loop ends. Moving a stream is allowed even while an operation runs. Destroying
// it closes the socket; a task still waiting on it then gets EBADF.
//
// Thread-safety: loop thread only.
#pragma once

#include <loopscope/errors.hpp>
#include <loopscope/task.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace loopscope {

namespace detail {
class StreamState;
}

// A numeric host ("127.0.0.1", "::1") and a port.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  // "127.0.0.1:8080", "[::1]:8080".
  [[nodiscard]] std::string to_string() const;
};

// The stream ended before a read could complete (asyncio.IncompleteReadError). partial()
// holds the bytes that were read (and are no longer in the stream); expected() is the
// length read_exactly wanted, nullopt for read_until.
class IncompleteReadError : public Error {
 public:
  IncompleteReadError(std::vector<std::byte> partial, std::optional<std::size_t> expected);
  [[nodiscard]] const std::vector<std::byte>& partial() const noexcept { return partial_; }
  [[nodiscard]] std::optional<std::size_t> expected() const noexcept { return expected_; }

 private:
  std::vector<std::byte> partial_;
  std::optional<std::size_t> expected_;
};

// read_until() found no delimiter within its limit (asyncio.LimitOverrunError). The data
// stays in the stream's buffer, so the caller may read it another way.
class LimitOverrunError : public Error {
 public:
  LimitOverrunError(std::size_t limit, std::size_t buffered);
  [[nodiscard]] std::size_t buffered() const noexcept { return buffered_; }

 private:
  std::size_t buffered_;
};

class TcpStream {
 public:
  static constexpr std::size_t kDefaultLimit = std::size_t{64} * 1024;

  // An empty stream: is_open() is false and every operation throws EBADF.
  TcpStream() noexcept = default;
  // Adopts `fd`, a connected stream socket: makes it non-blocking, sets TCP_NODELAY and
  // registers it with the current loop. Closes `fd` and throws std::system_error on failure.
  static TcpStream adopt(int fd);

  TcpStream(TcpStream&& other) noexcept;
  TcpStream& operator=(TcpStream&& other) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  // Reads at least one byte (at most buffer.size()) and returns how many; 0 at end of
  // stream (or for an empty buffer).
  [[nodiscard]] Task<std::size_t> read(std::span<std::byte> buffer);
  // Fills `buffer` completely. Throws IncompleteReadError if the stream ends first.
  [[nodiscard]] Task<void> read_exactly(std::span<std::byte> buffer);
  // Reads exactly `n` bytes. Throws IncompleteReadError if the stream ends first.
  [[nodiscard]] Task<std::vector<std::byte>> read_exactly(std::size_t n);
  // Reads up to and including `delimiter` (which must not be empty). Throws
  // LimitOverrunError if it does not end within `limit` bytes, IncompleteReadError (with
  // everything buffered) if the stream ends first.
  [[nodiscard]] Task<std::string> read_until(std::string_view delimiter,
                                             std::size_t limit = kDefaultLimit);

  // Sends all of `data`, suspending whenever the socket's send buffer is full.
  [[nodiscard]] Task<void> write_all(std::span<const std::byte> data);
  [[nodiscard]] Task<void> write_all(std::string_view data);

  // Half-close: the peer reads end of stream; this side can still read. Throws
  // std::system_error.
  void shutdown_write();
  // Closes the socket and drops buffered data. Wakes a task waiting on the stream (it
  // throws EBADF). Idempotent.
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;

  // Throw std::system_error (EBADF once closed).
  [[nodiscard]] std::uint16_t local_port() const;
  [[nodiscard]] Endpoint local_address() const;
  [[nodiscard]] Endpoint peer_address() const;
  // The socket, for setsockopt and the like; -1 once closed. Still owned by the stream.
  [[nodiscard]] int native_handle() const noexcept;

 private:
  explicit TcpStream(detail::StreamState* state) noexcept : state_(state) {}
  detail::StreamState* state_ = nullptr;
};

// Connects to `host`:`port`. A numeric IPv4 or IPv6 host is used as is; a name is resolved
// (off the loop thread) and each of its addresses is tried in turn. Throws std::system_error:
// the error of the last address tried (ECONNREFUSED, ...), or a resolver error.
[[nodiscard]] Task<TcpStream> open_connection(std::string host, std::uint16_t port);

}  // namespace loopscope
