#include <loopscope/detail/counted_ref.hpp>
#include <loopscope/errors.hpp>
#include <loopscope/event.hpp>
#include <loopscope/task_handle.hpp>
#include <loopscope/tcp_server.hpp>
#include <loopscope/timeout.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <system_error>
#include <utility>

namespace loopscope {

namespace detail {

// Shared by the TcpServer handle, its accept loop and its connection tasks; freed when the
// last of them is gone. It holds no reference to those tasks (they hold it), so there is no
// cycle to leak at loop teardown.
class ServerState {
 public:
  ServerState(TcpListener listener, std::unique_ptr<ConnectionHandlerBase> handler)
      : listener(std::move(listener)), handler(std::move(handler)) {}
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;
  ServerState(ServerState&&) = delete;
  ServerState& operator=(ServerState&&) = delete;
  ~ServerState() = default;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) {
      delete this;
    }
  }

  void close() noexcept {
    if (closed) {
      return;
    }
    closed = true;
    listener.close();         // wakes the accept loop if it waits for a connection
    set_event(closed_event);  // ... or if it is backing off after an error
    check_finished();
  }
  void check_finished() noexcept {
    if (closed && active == 0 && !accepting) {
      set_event(finished);
    }
  }
  // Event::set() throws only when called off the loop's thread with tasks waiting (a
  // TcpServer closed or destroyed on another thread): that misuse is reported as a
  // thread_safety finding, and the waiters are left alone rather than the process ended.
  static void set_event(Event& event) noexcept {
    try {
      event.set();
    } catch (const Error&) {  // NOLINT(bugprone-empty-catch): reported by check_thread
    }
  }

  TcpListener listener;
  std::unique_ptr<ConnectionHandlerBase> handler;
  Event closed_event;
  Event finished;  // closed, and every task of the server is done
  std::size_t active = 0;
  std::uint16_t port = 0;
  bool accepting = false;  // the accept loop's task exists
  bool closed = false;

 private:
  std::uint32_t refs_ = 1;
};

}  // namespace detail

namespace {

using detail::ServerState;
using ServerRef = detail::CountedRef<ServerState>;

// Out of file descriptors or memory: the failure passes once connections end, so the
// server waits a little and accepts again rather than dying (asyncio does the same).
bool is_transient(const std::error_code& code) {
  const int e = code.value();
  return code.category() == std::generic_category() &&
         (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM);
}

// A server task's hold on the server: the accept loop's, or a connection's. It is a
// parameter of the task's coroutine, so it ends with the coroutine frame however the task
// ends, even if it is cancelled before its first step. When the accept loop ends the server
// is closed: nothing accepts for it any more.
class ServerLease {
 public:
  enum class Kind : bool { kAcceptor, kConnection };
  ServerLease(ServerState* state, Kind kind) : s_(state), kind_(kind) {
    if (kind_ == Kind::kAcceptor) {
      s_->accepting = true;
    } else {
      ++s_->active;
    }
  }
  ServerLease(ServerLease&& other) noexcept = default;
  ServerLease(const ServerLease&) = delete;
  ServerLease& operator=(const ServerLease&) = delete;
  ServerLease& operator=(ServerLease&&) = delete;
  ~ServerLease() {
    if (!s_) {
      return;  // moved into the coroutine frame
    }
    if (kind_ == Kind::kAcceptor) {
      s_->accepting = false;
      s_->close();
    } else {
      --s_->active;
    }
    s_->check_finished();
  }
  ServerState* operator->() const noexcept { return s_.get(); }
  [[nodiscard]] ServerState* get() const noexcept { return s_.get(); }

 private:
  ServerRef s_;
  Kind kind_;
};

Task<void> serve_connection(ServerLease s, TcpStream stream) {
  try {
    co_await s->handler->call(std::move(stream));
  } catch (const CancelledError&) {
    throw;
  } catch (...) {
    // Nobody awaits a connection task: report the failure here (asyncio logs "Unhandled
    // exception in client_connected_cb") and keep serving the other connections.
    std::fprintf(stderr, "loopscope: error: unhandled exception in connection handler: %s\n",
                 detail::describe_exception(std::current_exception()).c_str());
  }
}

Task<void> accept_loop(ServerLease s) {
  while (!s->closed) {
    TcpStream stream;
    bool back_off = false;
    try {
      stream = co_await s->listener.accept();
    } catch (const std::system_error& e) {
      if (s->closed) {
        break;
      }
      std::fprintf(stderr, "loopscope: error: TcpServer on port %u: %s%s\n",
                   static_cast<unsigned>(s->port), e.what(),
                   is_transient(e.code()) ? "; retrying in 1 s" : "; server closed");
      if (!is_transient(e.code())) {
        s->close();
        break;
      }
      back_off = true;
    }
    if (back_off) {
      try {
        co_await timeout(std::chrono::seconds(1), s->closed_event.wait());
      } catch (const TimeoutError&) {
      }
      continue;
    }
    spawn(
        serve_connection(ServerLease(s.get(), ServerLease::Kind::kConnection), std::move(stream)));
  }
}

Task<void> wait_until_finished(ServerRef s) {
  if (s) {
    co_await s->finished.wait();
  }
}

Task<void> serve_until_closed(ServerRef s) {
  if (!s) {
    throw Error("TcpServer::serve_forever() on an empty server");
  }
  try {
    co_await s->closed_event.wait();
  } catch (const CancelledError&) {
    s->close();
    throw;
  }
}

}  // namespace

TcpServer::TcpServer(TcpListener listener, std::unique_ptr<detail::ConnectionHandlerBase> handler)
    : state_(new ServerState(std::move(listener), std::move(handler))) {
  try {
    state_->port = state_->listener.port();
    spawn(accept_loop(ServerLease(state_, ServerLease::Kind::kAcceptor)));
  } catch (...) {
    state_->release();
    throw;
  }
}

TcpServer::TcpServer(TcpServer&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {
}

TcpServer& TcpServer::operator=(TcpServer&& other) noexcept {
  if (this != &other) {
    TcpServer old(std::move(*this));
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

TcpServer::~TcpServer() {
  if (state_ != nullptr) {
    state_->close();
    state_->release();
  }
}

std::uint16_t TcpServer::port() const noexcept {
  return state_ != nullptr ? state_->port : 0;
}

void TcpServer::close() noexcept {
  if (state_ != nullptr) {
    state_->close();
  }
}

bool TcpServer::is_serving() const noexcept {
  return state_ != nullptr && !state_->closed;
}

std::size_t TcpServer::active_connections() const noexcept {
  return state_ != nullptr ? state_->active : 0;
}

Task<void> TcpServer::wait_closed() {
  return wait_until_finished(ServerRef(state_));
}

Task<void> TcpServer::serve_forever() {
  return serve_until_closed(ServerRef(state_));
}

}  // namespace loopscope
