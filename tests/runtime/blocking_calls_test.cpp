// Debug mode's blocking_call check: libc calls that block, made on a debug loop's thread,
// are reported with the caller's frame; the runtime's own non-blocking I/O, worker threads
// and other threads are not.

#include "test_support.hpp"
#include <loopscope/loopscope.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace loopscope {
namespace {

using namespace std::chrono_literals;
using testing::WarningRecorder;

template <class T>
T run_debug(Task<T> main, bool debug = true) {
  Options options;
  options.debug = debug;
  options.lag_sample_interval = 0ms;  // loop_lag is not what these tests are about
  return run(std::move(main), options);
}

std::vector<Warning> blocking_findings(const WarningRecorder& warnings) {
  std::vector<Warning> found;
  for (const Warning& w : warnings.all()) {
    if (w.kind == WarningKind::kBlockingCall) {
      found.push_back(w);
    }
  }
  return found;
}

// The one finding's message, checked to name `call` and to have a frame in `function` of
// this file.
std::string expect_one_finding(const WarningRecorder& warnings, const std::string& function) {
  const std::vector<Warning> found = blocking_findings(warnings);
  EXPECT_EQ(found.size(), 1U);
  if (found.empty()) {
    return "";
  }
  bool framed = false;
  for (const StackFrame& frame : found[0].frames) {
    framed = framed || (frame.function.find(function) != std::string::npos &&
                        frame.file.find("blocking_calls_test.cpp") != std::string::npos);
  }
  EXPECT_TRUE(framed) << "no frame of " << function << " in: " << found[0].message;
  return found[0].message;
}

// A pipe; both ends blocking unless told otherwise.
struct Pipe {
  explicit Pipe(int flags = 0) { EXPECT_EQ(pipe2(fds.data(), flags), 0); }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  Pipe(Pipe&&) = delete;
  Pipe& operator=(Pipe&&) = delete;
  ~Pipe() {
    close(fds[0]);
    close(fds[1]);
  }
  std::array<int, 2> fds{-1, -1};
};

Task<int> nap_with_usleep() {
  co_return usleep(1);
}

TEST(BlockingCalls, UsleepInATaskIsReportedWithTheTaskAndTheCallersFrame) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  EXPECT_EQ(run_debug(nap_with_usleep()), 0);
  const std::string message = expect_one_finding(warnings, "nap_with_usleep");
  EXPECT_EQ(message.rfind("blocking call usleep() on the event loop thread in task 'Task-1'", 0),
            0U)
      << message;
  EXPECT_NE(message.find("loopscope::sleep()"), std::string::npos) << message;
}

Task<void> nap_with_sleep_for() {
  std::this_thread::sleep_for(1us);  // libstdc++ calls nanosleep
  co_return;
}

TEST(BlockingCalls, SleepForReachesTheNanosleepCheckThroughLibstdcxx) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  run_debug(nap_with_sleep_for());
  const std::vector<Warning> found = blocking_findings(warnings);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].message.rfind("blocking call nanosleep()", 0), 0U) << found[0].message;
}

Task<int> nap_with_sleep_and_clock_nanosleep() {
  const timespec tiny{0, 1000};
  // NOLINTNEXTLINE(concurrency-mt-unsafe): sleep() is the call under test
  co_return static_cast<int>(::sleep(0)) + clock_nanosleep(CLOCK_MONOTONIC, 0, &tiny, nullptr);
}

TEST(BlockingCalls, SleepAndClockNanosleepAreReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  EXPECT_EQ(run_debug(nap_with_sleep_and_clock_nanosleep()), 0);
  const std::vector<Warning> found = blocking_findings(warnings);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[0].message.rfind("blocking call sleep()", 0), 0U) << found[0].message;
  EXPECT_EQ(found[1].message.rfind("blocking call clock_nanosleep()", 0), 0U);
}

Task<int> resolve_on_the_loop() {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo("127.0.0.1", nullptr, &hints, &list);
  freeaddrinfo(list);
  co_return rc;
}

TEST(BlockingCalls, GetaddrinfoOnTheLoopThreadIsReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  EXPECT_EQ(run_debug(resolve_on_the_loop()), 0);
  const std::string message = expect_one_finding(warnings, "resolve_on_the_loop");
  EXPECT_EQ(message.rfind("blocking call getaddrinfo()", 0), 0U) << message;
}

Task<int> read_and_write_a_blocking_pipe(const Pipe* p) {
  const char out = 'x';
  char in = 0;
  co_return static_cast<int>(::write(p->fds[1], &out, 1) + ::read(p->fds[0], &in, 1));
}

TEST(BlockingCalls, ReadAndWriteOnABlockingPipeAreReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  const Pipe p;
  EXPECT_EQ(run_debug(read_and_write_a_blocking_pipe(&p)), 2);
  const std::vector<Warning> found = blocking_findings(warnings);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[0].message.rfind("blocking call write()", 0), 0U) << found[0].message;
  EXPECT_EQ(found[1].message.rfind("blocking call read()", 0), 0U) << found[1].message;
}

TEST(BlockingCalls, ANonBlockingPipeIsNotReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  const Pipe p(O_NONBLOCK);
  EXPECT_EQ(run_debug(read_and_write_a_blocking_pipe(&p)), 2);
  EXPECT_EQ(warnings.count(WarningKind::kBlockingCall), 0);
}

Task<long> read_a_regular_file(int fd) {
  std::array<char, 16> buffer{};
  co_return static_cast<long>(::read(fd, buffer.data(), buffer.size()));
}

TEST(BlockingCalls, ReadingARegularFileIsNotReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  std::fputs("some bytes", file);
  std::fflush(file);
  ASSERT_EQ(lseek(fileno(file), 0, SEEK_SET), 0);
  EXPECT_EQ(run_debug(read_a_regular_file(fileno(file))), 10);
  std::fclose(file);
  EXPECT_EQ(warnings.count(WarningKind::kBlockingCall), 0);
}

Task<long> talk_over_a_blocking_socket_pair() {
  std::array<int, 2> fds{};
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()), 0);
  const char out = 'x';
  char in = 0;
  long n = ::send(fds[0], &out, 1, 0);
  n += ::recv(fds[1], &in, 1, 0);
  n += ::send(fds[0], &out, 1, MSG_DONTWAIT);  // cannot block: not reported
  n += ::recv(fds[1], &in, 1, MSG_DONTWAIT);
  close(fds[0]);
  close(fds[1]);
  co_return n;
}

TEST(BlockingCalls, SendAndRecvOnABlockingSocketAreReportedUnlessMsgDontwait) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  EXPECT_EQ(run_debug(talk_over_a_blocking_socket_pair()), 4);
  const std::vector<Warning> found = blocking_findings(warnings);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[0].message.rfind("blocking call send()", 0), 0U) << found[0].message;
  EXPECT_EQ(found[1].message.rfind("blocking call recv()", 0), 0U) << found[1].message;
}

Task<int> connect_a_blocking_socket(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  close(fd);
  co_return rc;
}

TEST(BlockingCalls, ConnectOnABlockingSocketIsReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  // A listening socket that accepts into its backlog without anyone calling accept().
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(listener, reinterpret_cast<const sockaddr*>(&address), length), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  EXPECT_EQ(run_debug(connect_a_blocking_socket(ntohs(address.sin_port))), 0);
  close(listener);
  const std::string message = expect_one_finding(warnings, "connect_a_blocking_socket");
  EXPECT_EQ(message.rfind("blocking call connect()", 0), 0U) << message;
}

Task<void> echo_once(TcpStream stream) {
  std::array<std::byte, 64> buffer{};
  const std::size_t n = co_await stream.read(buffer);
  co_await stream.write_all(std::span<const std::byte>(buffer.data(), n));
}

Task<std::string> echo_through_the_runtime() {
  TcpServer server = co_await start_server("127.0.0.1", 0, echo_once);
  TcpStream client = co_await open_connection("127.0.0.1", server.port());
  co_await client.write_all(std::string_view("ping"));
  std::array<std::byte, 4> reply{};
  co_await client.read_exactly(reply);
  server.close();
  co_return std::string(reinterpret_cast<const char*>(reply.data()), reply.size());
}

TEST(BlockingCalls, TheRuntimesOwnSocketIoIsNotReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  EXPECT_EQ(run_debug(echo_through_the_runtime()), "ping");
  EXPECT_EQ(warnings.count(WarningKind::kBlockingCall), 0);
}

Task<int> block_elsewhere() {
  // On a worker of the default pool, then on a thread of the test's own.
  auto nap = [] { return usleep(1); };
  int rc = co_await to_thread(nap);
  std::thread other([&rc] { rc += usleep(1); });
  other.join();
  co_return rc;
}

TEST(BlockingCalls, WorkerThreadsAndOtherThreadsAreNotReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  EXPECT_EQ(run_debug(block_elsewhere()), 0);
  EXPECT_EQ(warnings.count(WarningKind::kBlockingCall), 0);
}

TEST(BlockingCalls, WithoutDebugModeBlockingCallsAreNotReported) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  const Pipe p;
  EXPECT_EQ(run_debug(nap_with_usleep(), /*debug=*/false), 0);
  EXPECT_EQ(run_debug(read_and_write_a_blocking_pipe(&p), /*debug=*/false), 2);
  EXPECT_EQ(warnings.count(WarningKind::kBlockingCall), 0);
}

Task<int> nap_fifty_times_with_usleep() {
  int failures = 0;
  for (int i = 0; i < 50; ++i) {
    failures += usleep(1) == 0 ? 0 : 1;  // one place, fifty calls
  }
  co_return failures;
}

// The loop thread only captures the stack: the finding is symbolized, printed and observed
// on another thread while the call blocks, once for the place, and before run() returns.
TEST(BlockingCalls, TheFindingIsReportedOffTheLoopThreadOncePerPlaceBeforeRunReturns) {
  std::mutex mutex;
  std::vector<std::thread::id> observed_on;
  const WarningObserver previous = set_warning_observer([&](const Warning& w) {
    if (w.kind == WarningKind::kBlockingCall) {
      const std::lock_guard lock(mutex);
      observed_on.push_back(std::this_thread::get_id());
    }
  });
  const int failures = run_debug(nap_fifty_times_with_usleep());
  {
    const std::lock_guard lock(mutex);
    ASSERT_EQ(observed_on.size(), 1U);
    EXPECT_NE(observed_on[0], std::this_thread::get_id());  // the loop ran on this thread
  }
  set_warning_observer(previous);
  EXPECT_EQ(failures, 0);
}

TEST(BlockingCalls, TheLoopThreadIsNotCheckedOnceItsLoopIsGone) {
  const WarningRecorder warnings{WarningKind::kBlockingCall};
  run_debug(nap_with_usleep());
  detail::reset_reported_sites();
  EXPECT_EQ(usleep(1), 0);
  EXPECT_EQ(warnings.count(WarningKind::kBlockingCall), 1);
}

}  // namespace
}  // namespace loopscope
