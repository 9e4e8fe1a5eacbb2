#include <loopscope/detail/io_watch.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/loop.hpp>

#include <cerrno>
#include <sys/epoll.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace loopscope::detail {

void IoWatch::open(int fd) {
  Loop& loop = Loop::current();
  if (fd_ >= 0) {
    throw Error("IoWatch::open(): the watch already has a file descriptor");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = this;
  if (epoll_ctl(loop.epoll_fd(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "loopscope: epoll_ctl(ADD)");
  }
  loop_ = &loop;
  fd_ = fd;
  readable_ = true;  // unknown until tried
  read_closed_ = false;
  writable_ = true;
}

int IoWatch::release() noexcept {
  if (fd_ < 0) {
    return -1;
  }
  // A watch that outlives its loop (a stream returned out of run()) has nothing left to
  // unregister from; its loop pointer must not be followed.
  if (t_current_loop == loop_) {
    epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_DEL, fd_, nullptr);
  }
  const int fd = std::exchange(fd_, -1);
  if (reader_ != nullptr) {
    std::exchange(reader_, nullptr)->wake(true);
  }
  if (writer_ != nullptr) {
    std::exchange(writer_, nullptr)->wake(true);
  }
  return fd;
}

void IoWatch::close() noexcept {
  const int fd = release();
  if (fd >= 0) {
    ::close(fd);
  }
}

void IoWatch::on_events(std::uint32_t events) noexcept {
  // Errors and hang-ups wake both directions: the retried syscall reports what happened.
  constexpr std::uint32_t kFailure = EPOLLERR | EPOLLHUP;
  if ((events & EPOLLIN) != 0) {
    readable_ = true;
  }
  if ((events & (EPOLLRDHUP | kFailure)) != 0) {
    read_closed_ = true;
  }
  if ((events & (EPOLLOUT | kFailure)) != 0) {
    writable_ = true;
  }
  if (reader_ != nullptr && (events & (EPOLLIN | EPOLLRDHUP | kFailure)) != 0) {
    std::exchange(reader_, nullptr)->wake(false);
  }
  if (writer_ != nullptr && (events & (EPOLLOUT | kFailure)) != 0) {
    std::exchange(writer_, nullptr)->wake(false);
  }
}

IoAwaiter::~IoAwaiter() {
  if (waiting_) {  // the frame is destroyed while it waits
    (write_ ? watch_->writer_ : watch_->reader_) = nullptr;
    watch_->loop_->remove_io_waiter();
  }
}

bool IoAwaiter::await_suspend(std::coroutine_handle<> h) {
  if (!watch_->is_open()) {
    closed_ = true;
    return false;
  }
  Loop& loop = *watch_->loop_;
  loop.check_thread("I/O wait");
  task_ = loop.current_task();
  if (task_ == nullptr) {
    throw Error("I/O awaited outside a task");
  }
  IoAwaiter*& slot = write_ ? watch_->writer_ : watch_->reader_;
  if (slot != nullptr) {
    throw Error(write_ ? "two tasks are writing to the same stream at once"
                       : "two tasks are reading from the same stream at once");
  }
  if (task_->consume_pending_cancel()) {
    cancelled_ = true;
    return false;
  }
  slot = this;
  waiting_ = true;
  loop.add_io_waiter();
  task_->continuation_ = h;
  on_cancel = &IoAwaiter::on_cancelled;
  reason = write_ ? SuspendReason::kIoWrite : SuspendReason::kIoRead;
  object = static_cast<std::uint64_t>(watch_->fd());
  task_->wait_ = this;
  return true;
}

void IoAwaiter::wake(bool closed) noexcept {
  waiting_ = false;
  closed_ = closed;
  watch_->loop_->remove_io_waiter();
  watch_->loop_->schedule(task_);
}

void IoAwaiter::on_cancelled(WaitNode* node) {
  auto* self = static_cast<IoAwaiter*>(node);
  (self->write_ ? self->watch_->writer_ : self->watch_->reader_) = nullptr;
  self->cancelled_ = true;
  self->wake(false);
}

void IoAwaiter::await_resume() const {
  if (cancelled_ || (task_ != nullptr && task_->consume_pending_cancel())) {
    throw CancelledError{};
  }
  if (closed_) {
    throw std::system_error(EBADF, std::generic_category(), "loopscope: stream closed");
  }
}

}  // namespace loopscope::detail
