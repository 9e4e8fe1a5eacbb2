#include <loopscope/detail/counted_ref.hpp>
#include <loopscope/detail/io_watch.hpp>
#include <loopscope/detail/socket_address.hpp>
#include <loopscope/tcp_server.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace loopscope {

namespace detail {

// A listening socket's watch, on the heap for the same reasons as a stream's state.
class ListenerState {
 public:
  ListenerState() = default;
  ListenerState(const ListenerState&) = delete;
  ListenerState& operator=(const ListenerState&) = delete;
  ListenerState(ListenerState&&) = delete;
  ListenerState& operator=(ListenerState&&) = delete;
  ~ListenerState() = default;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      delete this;
    }
  }

  IoWatch watch;
  bool accepting = false;

 private:
  std::uint32_t refs_ = 1;
};

}  // namespace detail

namespace {

using detail::ListenerState;
using ListenerRef = detail::CountedRef<ListenerState>;

// Binds and listens on one address; returns the socket, or -errno.
int listen_on(const detail::SocketAddress& address, int backlog) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  // Restarting a server must not wait for the previous one's connections in TIME_WAIT.
  const int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(fd, address.get(), address.length) != 0 || ::listen(fd, backlog) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

Task<TcpListener> bind_listener(std::string host, std::uint16_t port, int backlog) {
  const std::vector<detail::SocketAddress> addresses =
      co_await detail::resolve_address(std::move(host), port, true);
  int error = EADDRNOTAVAIL;
  for (const detail::SocketAddress& address : addresses) {
    const int fd = listen_on(address, backlog);
    if (fd >= 0) {
      co_return TcpListener::adopt(fd);
    }
    error = -fd;
  }
  detail::throw_errno(error, "listen");
}

Task<TcpStream> accept_connection(ListenerRef s) {
  if (!s) {
    detail::throw_errno(EBADF, "listener closed");
  }
  if (s->accepting) {
    throw Error("two tasks are accepting on the same TcpListener at once");
  }
  s->accepting = true;
  struct Done {
    explicit Done(ListenerState* s) noexcept : state(s) {}
    Done(const Done&) = delete;
    Done& operator=(const Done&) = delete;
    Done(Done&&) = delete;
    Done& operator=(Done&&) = delete;
    ~Done() { state->accepting = false; }
    ListenerState* state;
  } const done(s.get());
  for (;;) {
    if (!s->watch.is_open()) {
      detail::throw_errno(EBADF, "listener closed");
    }
    const int fd = ::accept4(s->watch.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      co_return TcpStream::adopt(fd);
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      co_await s->watch.readable();
    } else if (err != EINTR && err != ECONNABORTED && err != EPROTO) {
      // A connection that died while queued is not the listener's failure: try the next.
      detail::throw_errno(err, "accept");
    }
  }
}

}  // namespace

Task<TcpListener> TcpListener::bind(std::string host, std::uint16_t port, int backlog) {
  return bind_listener(std::move(host), port, backlog);
}

TcpListener TcpListener::adopt(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)) {
    const int err = errno;
    ::close(fd);
    detail::throw_errno(err, "fcntl(O_NONBLOCK)");
  }
  auto* state = new ListenerState();
  try {
    state->watch.open(fd);
  } catch (...) {
    state->release();
    ::close(fd);
    throw;
  }
  return TcpListener(state);
}

TcpListener::TcpListener(TcpListener&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)) {
}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
  if (this != &other) {
    TcpListener old(std::move(*this));
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

TcpListener::~TcpListener() {
  if (state_ != nullptr) {
    state_->watch.close();
    state_->release();
  }
}

Task<TcpStream> TcpListener::accept() {
  return accept_connection(ListenerRef(state_));
}

void TcpListener::close() noexcept {
  if (state_ != nullptr) {
    state_->watch.close();
  }
}

bool TcpListener::is_open() const noexcept {
  return state_ != nullptr && state_->watch.is_open();
}

int TcpListener::native_handle() const noexcept {
  return state_ != nullptr ? state_->watch.fd() : -1;
}

std::uint16_t TcpListener::port() const {
  return local_address().port;
}

Endpoint TcpListener::local_address() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(native_handle(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    detail::throw_errno(errno, "getsockname");
  }
  return detail::to_endpoint(reinterpret_cast<const sockaddr*>(&address), length);
}

}  // namespace loopscope
