// StreamState: what a TcpStream owns: the socket's IoWatch and the read buffer.
//
// It lives on the heap so that the stream can move while the epoll registration (which
// points at the watch) and running operations (which hold a CountedRef) stay put. receive()
// and send() are the "try the syscall first" halves of every operation; the callers await
// the watch when they say kWouldBlock.
//
// Thread-safety: its loop's thread only (the reference count is not atomic).
#pragma once

#include <loopscope/detail/io_watch.hpp>
#include <loopscope/detail/socket_address.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace loopscope::detail {

class StreamState {
 public:
  // What receive() and send() return when the socket has nothing / no room now.
  static constexpr std::ptrdiff_t kWouldBlock = -1;

  StreamState() = default;
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;
  StreamState(StreamState&&) = delete;
  StreamState& operator=(StreamState&&) = delete;
  ~StreamState() = default;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      delete this;
    }
  }

  void close() noexcept {
    watch.close();
    begin_ = end_ = 0;
  }
  [[nodiscard]] int checked_fd() const {
    if (!watch.is_open()) {
      throw_errno(EBADF, "stream closed");
    }
    return watch.fd();
  }

  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }
  [[nodiscard]] std::string_view buffered_text() const noexcept {
    return {reinterpret_cast<const char*>(buffer_.data()) + begin_, buffered()};
  }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) {
      begin_ = end_ = 0;
    }
  }
  // Copies buffered bytes into `out`; returns how many.
  std::size_t take_buffered(std::span<std::byte> out) noexcept {
    const std::size_t n = std::min(out.size(), buffered());
    if (n > 0) {
      std::memcpy(out.data(), buffer_.data() + begin_, n);
      consume(n);
    }
    return n;
  }
  std::vector<std::byte> take_all() {
    std::vector<std::byte> all(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
                               buffer_.begin() + static_cast<std::ptrdiff_t>(end_));
    begin_ = end_ = 0;
    return all;
  }
  // Puts `data` back in front of the buffered bytes (a cancelled read_exactly).
  void unread(std::span<const std::byte> data);
  // Makes room behind the buffered bytes for the next receive().
  void reserve_space();

  // Receives into `out` and, behind a small `out`, into the free space of the buffer: one
  // syscall then tells whether the socket is drained (a short read), which lets the next
  // read skip the syscall that would only say EAGAIN. Returns the bytes received (those
  // past out.size() are buffered), 0 at end of stream, or kWouldBlock.
  std::ptrdiff_t receive(std::span<std::byte> out);
  // Sends a prefix of `data`; returns its length or kWouldBlock.
  std::ptrdiff_t send(std::span<const std::byte> data);

  IoWatch watch;
  bool reading = false;
  bool writing = false;

 private:
  static constexpr std::size_t kInitialBuffer = 4096;
  static constexpr std::size_t kMinReceive = 1024;

  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint32_t refs_ = 1;
};

}  // namespace loopscope::detail
