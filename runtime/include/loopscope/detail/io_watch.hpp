// IoWatch: a file descriptor registered with its loop's epoll instance, and the awaitable
// readiness waits that non-blocking I/O builds on.
//
// The fd is registered once, edge-triggered, for both directions. The discipline is "try
// first": call read()/write() on the non-blocking fd and await readable()/writable() only
// after EAGAIN; the next edge wakes the waiter. At most one task waits per direction.
//
// The watch also keeps a readiness hint per direction, so a caller can skip a syscall that
// would only say EAGAIN: it is cleared by the caller when a read comes back short (the
// kernel had no more; true of sockets under epoll, as tokio relies on too) or a write finds
// the buffer full, and set again by the next edge. End of stream and errors are sticky for
// reading: no edge follows them.
//
// IoAwaiter suspends always. It is resumed through the run queue by the poll phase when the
// fd is ready or has failed (the retried syscall then reports the error), and throws
// CancelledError if its task is cancelled meanwhile (no data is lost: the caller retries),
// or std::system_error(EBADF) if the watch is closed while it waits.
//
// Thread-safety: loop thread only.
#pragma once

#include <loopscope/detail/promise.hpp>

#include <coroutine>
#include <cstdint>

namespace loopscope {
class Loop;
}

namespace loopscope::detail {

class IoWatch;

class IoAwaiter : WaitNode {
 public:
  IoAwaiter(IoWatch* watch, bool write) noexcept : watch_(watch), write_(write) {}
  IoAwaiter(const IoAwaiter&) = delete;
  IoAwaiter& operator=(const IoAwaiter&) = delete;
  IoAwaiter(IoAwaiter&&) = delete;
  IoAwaiter& operator=(IoAwaiter&&) = delete;
  ~IoAwaiter();

  [[nodiscard]] bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() const;

 private:
  friend class IoWatch;
  void wake(bool closed) noexcept;
  static void on_cancelled(WaitNode* node);

  IoWatch* watch_;
  PromiseBase* task_ = nullptr;
  bool write_;
  bool waiting_ = false;
  bool cancelled_ = false;
  bool closed_ = false;
};

class IoWatch {
 public:
  IoWatch() = default;
  IoWatch(const IoWatch&) = delete;
  IoWatch& operator=(const IoWatch&) = delete;
  IoWatch(IoWatch&&) = delete;
  IoWatch& operator=(IoWatch&&) = delete;
  ~IoWatch() { close(); }

  // Registers `fd` (already non-blocking) with the current loop. Throws std::system_error,
  // or Error if the watch already has an fd.
  void open(int fd);
  // Unregisters and closes the fd; wakes any waiter (it then throws EBADF). Idempotent.
  void close() noexcept;
  // Unregisters without closing the fd, which is returned (-1 if none).
  int release() noexcept;

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  [[nodiscard]] Loop* loop() const noexcept { return loop_; }

  // False when the last read came back short and no edge has arrived since.
  [[nodiscard]] bool maybe_readable() const noexcept { return readable_ || read_closed_; }
  [[nodiscard]] bool maybe_writable() const noexcept { return writable_; }
  void clear_readable() noexcept { readable_ = false; }
  void clear_writable() noexcept { writable_ = false; }

  [[nodiscard]] IoAwaiter readable() noexcept { return {this, false}; }
  [[nodiscard]] IoAwaiter writable() noexcept { return {this, true}; }

  // Called by the loop's poll phase with the epoll event mask.
  void on_events(std::uint32_t events) noexcept;

 private:
  friend class IoAwaiter;
  Loop* loop_ = nullptr;
  int fd_ = -1;
  IoAwaiter* reader_ = nullptr;
  IoAwaiter* writer_ = nullptr;
  bool readable_ = true;
  bool read_closed_ = false;
  bool writable_ = true;
};

}  // namespace loopscope::detail
