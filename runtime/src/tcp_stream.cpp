#include <loopscope/detail/counted_ref.hpp>
#include <loopscope/detail/socket_address.hpp>
#include <loopscope/detail/stream_state.hpp>
#include <loopscope/tcp_stream.hpp>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace loopscope {

namespace {

using detail::StreamState;
constexpr std::ptrdiff_t kWouldBlock = StreamState::kWouldBlock;

// Each running operation holds one, so that closing, moving or destroying the TcpStream
// meanwhile never leaves it dangling.
using StreamRef = detail::CountedRef<StreamState>;

// Marks one direction of a stream busy for the duration of an operation.
class OpGuard {
 public:
  OpGuard(const StreamRef& stream, bool StreamState::*busy, const char* what)
      : busy_(stream.get() != nullptr ? &(stream.get()->*busy) : nullptr) {
    if (busy_ == nullptr) {
      detail::throw_errno(EBADF, "stream closed");
    }
    if (*busy_) {
      throw Error(std::string("two tasks are ") + what + " the same TcpStream at once");
    }
    *busy_ = true;
  }
  OpGuard(const OpGuard&) = delete;
  OpGuard& operator=(const OpGuard&) = delete;
  OpGuard(OpGuard&&) = delete;
  OpGuard& operator=(OpGuard&&) = delete;
  ~OpGuard() { *busy_ = false; }

 private:
  bool* busy_;
};

Task<std::size_t> read_some(StreamRef s, std::span<std::byte> out) {
  const OpGuard guard(s, &StreamState::reading, "reading from");
  if (out.empty()) {
    co_return 0;
  }
  if (const std::size_t n = s->take_buffered(out); n > 0) {
    co_return n;
  }
  for (;;) {
    const std::ptrdiff_t n = s->receive(out);
    if (n != kWouldBlock) {
      co_return std::min(static_cast<std::size_t>(n), out.size());
    }
    co_await s->watch.readable();
  }
}

Task<void> read_exactly_into(StreamRef s, std::span<std::byte> out) {
  const OpGuard guard(s, &StreamState::reading, "reading from");
  std::size_t got = s->take_buffered(out);
  while (got < out.size()) {
    const std::ptrdiff_t n = s->receive(out.subspan(got));
    if (n == 0) {
      const std::span<std::byte> partial = out.first(got);
      throw IncompleteReadError(std::vector<std::byte>(partial.begin(), partial.end()), out.size());
    }
    if (n != kWouldBlock) {
      got += std::min(static_cast<std::size_t>(n), out.size() - got);
      continue;
    }
    try {
      co_await s->watch.readable();
    } catch (const CancelledError&) {
      s->unread(out.first(got));  // a cancelled read consumes nothing
      throw;
    }
  }
}

Task<std::vector<std::byte>> read_exactly_vector(StreamRef s, std::size_t n) {
  std::vector<std::byte> bytes(n);
  co_await read_exactly_into(std::move(s), bytes);
  co_return bytes;
}

Task<std::string> read_until_delimiter(StreamRef s, std::string delimiter, std::size_t limit) {
  if (delimiter.empty()) {
    throw Error("TcpStream::read_until(): the delimiter is empty");
  }
  const OpGuard guard(s, &StreamState::reading, "reading from");
  std::size_t scanned = 0;  // buffered bytes known not to start a delimiter
  for (;;) {
    const std::string_view data = s->buffered_text();
    const std::size_t pos = data.find(delimiter, scanned);
    if (pos != std::string_view::npos) {
      const std::size_t length = pos + delimiter.size();
      if (length > limit) {
        throw LimitOverrunError(limit, data.size());
      }
      std::string line(data.substr(0, length));
      s->consume(length);
      co_return line;
    }
    if (data.size() >= limit) {
      throw LimitOverrunError(limit, data.size());
    }
    // A delimiter may straddle what is buffered and what comes next.
    scanned = data.size() - std::min(data.size(), delimiter.size() - 1);
    s->reserve_space();
    const std::ptrdiff_t n = s->receive({});
    if (n == 0) {
      throw IncompleteReadError(s->take_all(), std::nullopt);
    }
    if (n == kWouldBlock) {
      co_await s->watch.readable();
    }
  }
}

Task<void> write_everything(StreamRef s, std::span<const std::byte> data) {
  const OpGuard guard(s, &StreamState::writing, "writing to");
  std::size_t sent = 0;
  while (sent < data.size()) {
    const std::ptrdiff_t n = s->send(data.subspan(sent));
    if (n == kWouldBlock) {
      co_await s->watch.writable();
    } else {
      sent += static_cast<std::size_t>(n);
    }
  }
}

sockaddr_storage socket_name(int fd, bool peer, socklen_t* length) {
  sockaddr_storage address{};
  *length = sizeof(address);
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if ((peer ? ::getpeername(fd, raw, length) : ::getsockname(fd, raw, length)) != 0) {
    detail::throw_errno(errno, peer ? "getpeername" : "getsockname");
  }
  return address;
}

}  // namespace

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

IncompleteReadError::IncompleteReadError(std::vector<std::byte> partial,
                                         std::optional<std::size_t> expected)
    : Error(std::to_string(partial.size()) + " bytes read on a total of " +
            (expected ? std::to_string(*expected) : std::string("undefined")) +
            " expected bytes: the stream ended"),
      partial_(std::move(partial)),
      expected_(expected) {
}

LimitOverrunError::LimitOverrunError(std::size_t limit, std::size_t buffered)
    : Error("read_until(): no delimiter within the limit of " + std::to_string(limit) + " bytes"),
      buffered_(buffered) {
}

TcpStream TcpStream::adopt(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)) {
    const int err = errno;
    ::close(fd);
    detail::throw_errno(err, "fcntl(O_NONBLOCK)");
  }
  // Small messages go out at once instead of waiting for an ACK (Nagle); asyncio does the
  // same. Not a TCP socket (a socketpair in a test): nothing to set.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto* state = new StreamState();
  try {
    state->watch.open(fd);
  } catch (...) {
    state->release();
    ::close(fd);
    throw;
  }
  return TcpStream(state);
}

TcpStream::TcpStream(TcpStream&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {
}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
  if (this != &other) {
    TcpStream old(std::move(*this));
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

TcpStream::~TcpStream() {
  if (state_ != nullptr) {
    state_->close();
    state_->release();
  }
}

Task<std::size_t> TcpStream::read(std::span<std::byte> buffer) {
  return read_some(StreamRef(state_), buffer);
}

Task<void> TcpStream::read_exactly(std::span<std::byte> buffer) {
  return read_exactly_into(StreamRef(state_), buffer);
}

Task<std::vector<std::byte>> TcpStream::read_exactly(std::size_t n) {
  return read_exactly_vector(StreamRef(state_), n);
}

Task<std::string> TcpStream::read_until(std::string_view delimiter, std::size_t limit) {
  return read_until_delimiter(StreamRef(state_), std::string(delimiter), limit);
}

Task<void> TcpStream::write_all(std::span<const std::byte> data) {
  return write_everything(StreamRef(state_), data);
}

Task<void> TcpStream::write_all(std::string_view data) {
  return write_everything(StreamRef(state_), std::as_bytes(std::span(data.data(), data.size())));
}

void TcpStream::shutdown_write() {
  if (::shutdown(native_handle(), SHUT_WR) != 0) {
    detail::throw_errno(errno, "shutdown");
  }
}

void TcpStream::close() noexcept {
  if (state_ != nullptr) {
    state_->close();
  }
}

bool TcpStream::is_open() const noexcept {
  return state_ != nullptr && state_->watch.is_open();
}

int TcpStream::native_handle() const noexcept {
  return state_ != nullptr ? state_->watch.fd() : -1;
}

std::uint16_t TcpStream::local_port() const {
  return local_address().port;
}

Endpoint TcpStream::local_address() const {
  socklen_t length = 0;
  const sockaddr_storage address = socket_name(native_handle(), false, &length);
  return detail::to_endpoint(reinterpret_cast<const sockaddr*>(&address), length);
}

Endpoint TcpStream::peer_address() const {
  socklen_t length = 0;
  const sockaddr_storage address = socket_name(native_handle(), true, &length);
  return detail::to_endpoint(reinterpret_cast<const sockaddr*>(&address), length);
}

}  // namespace loopscope
