#include <loopscope/detail/stream_state.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>

namespace loopscope::detail {

void StreamState::unread(std::span<const std::byte> data) {
  if (data.empty()) {
    return;
  }
  if (begin_ >= data.size()) {
    begin_ -= data.size();
    std::memcpy(buffer_.data() + begin_, data.data(), data.size());
    return;
  }
  std::vector<std::byte> merged(std::max(buffer_.size(), data.size() + buffered()));
  std::memcpy(merged.data(), data.data(), data.size());
  std::memcpy(merged.data() + data.size(), buffer_.data() + begin_, buffered());
  end_ = data.size() + buffered();
  begin_ = 0;
  buffer_ = std::move(merged);
}

void StreamState::reserve_space() {
  if (buffer_.size() - end_ >= kMinReceive) {
    return;
  }
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, buffered());
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kMinReceive) {
    buffer_.resize(std::max(kInitialBuffer, buffer_.size() * 2));
  }
}

std::ptrdiff_t StreamState::receive(std::span<std::byte> out) {
  const int fd = checked_fd();
  if (!watch.maybe_readable()) {
    return kWouldBlock;
  }
  // A large `out` needs no spare room behind it to show a drained socket by a short read;
  // plain recv() is then a little cheaper than recvmsg().
  const bool spare = out.size() < kInitialBuffer;
  if (spare && buffer_.empty()) {
    buffer_.resize(kInitialBuffer);  // once per stream
  }
  std::array<iovec, 2> iov{
      {{out.data(), out.size()}, {buffer_.data() + end_, spare ? buffer_.size() - end_ : 0}}};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  for (;;) {
    const ssize_t n = iov[1].iov_len == 0   ? ::recv(fd, iov[0].iov_base, iov[0].iov_len, 0)
                      : iov[0].iov_len == 0 ? ::recv(fd, iov[1].iov_base, iov[1].iov_len, 0)
                                            : ::recvmsg(fd, &msg, 0);
    if (n > 0) {
      const auto received = static_cast<std::size_t>(n);
      if (received < iov[0].iov_len + iov[1].iov_len) {
        watch.clear_readable();
      }
      if (received > out.size()) {
        end_ += received - out.size();
      }
      return n;
    }
    if (n == 0) {
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      watch.clear_readable();
      return kWouldBlock;
    }
    throw_errno(errno, "recv");
  }
}

std::ptrdiff_t StreamState::send(std::span<const std::byte> data) {
  const int fd = checked_fd();
  if (!watch.maybe_writable()) {
    return kWouldBlock;
  }
  for (;;) {
    // MSG_NOSIGNAL: a peer that has gone away is an EPIPE error, not a process-killing signal.
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      if (static_cast<std::size_t>(n) < data.size()) {
        watch.clear_writable();
      }
      return n;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      watch.clear_writable();
      return kWouldBlock;
    }
    throw_errno(errno, "send");
  }
}

}  // namespace loopscope::detail
