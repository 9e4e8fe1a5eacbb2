#include <loopscope/detail/io_watch.hpp>
#include <loopscope/detail/socket_address.hpp>
#include <loopscope/tcp_stream.hpp>

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace loopscope {

namespace {

// Connects a fresh socket to `address`: returns the connected socket, or -errno. A
// non-blocking connect says EINPROGRESS; the socket turns writable when the handshake ends,
// and SO_ERROR then tells how it ended.
Task<int> connect_to(detail::SocketAddress address) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    co_return -errno;  // say, an IPv6 address on a host without IPv6: try the next one
  }
  if (::connect(fd, address.get(), address.length) == 0) {
    co_return fd;
  }
  if (errno != EINPROGRESS && errno != EINTR) {
    const int err = errno;
    ::close(fd);
    co_return -err;
  }
  detail::IoWatch watch;  // closes the socket if we leave early (cancelled, or failed)
  try {
    watch.open(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  co_await watch.writable();
  int err = 0;
  socklen_t length = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length) != 0) {
    err = errno;
  }
  if (err != 0) {
    co_return -err;
  }
  co_return watch.release();  // TcpStream::adopt registers it again, for good
}

Task<TcpStream> connect_to_host(std::string host, std::uint16_t port) {
  const std::vector<detail::SocketAddress> addresses =
      co_await detail::resolve_address(std::move(host), port, false);
  int error = EADDRNOTAVAIL;
  for (const detail::SocketAddress& address : addresses) {
    const int fd = co_await connect_to(address);
    if (fd >= 0) {
      co_return TcpStream::adopt(fd);
    }
    error = -fd;
  }
  detail::throw_errno(error, "connect");
}

}  // namespace

Task<TcpStream> open_connection(std::string host, std::uint16_t port) {
  return connect_to_host(std::move(host), port);
}

}  // namespace loopscope
