#include <loopscope/detail/socket_address.hpp>
#include <loopscope/tcp_stream.hpp>
#include <loopscope/to_thread.hpp>

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <utility>

namespace loopscope::detail {

namespace {

class ResolverCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
  [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};

// What getaddrinfo produced, carried back from the worker thread.
struct Resolution {
  int gai_error = 0;
  int sys_error = 0;  // errno, for EAI_SYSTEM
  std::vector<SocketAddress> addresses;
};

Resolution blocking_resolve(const std::string& host, std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  // No AI_ADDRCONFIG: on a host with only a loopback interface it would hide "localhost".
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  const std::string service = std::to_string(port);
  addrinfo* list = nullptr;
  Resolution out;
  out.gai_error =
      ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (out.gai_error != 0) {
    out.sys_error = errno;
    return out;
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen <= sizeof(sockaddr_storage)) {
      SocketAddress address;
      std::memcpy(&address.storage, ai->ai_addr, ai->ai_addrlen);
      address.length = ai->ai_addrlen;
      out.addresses.push_back(address);
    }
  }
  return out;
}

}  // namespace

const std::error_category& resolver_category() noexcept {
  static const ResolverCategory category;
  return category;
}

void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), std::string("loopscope: ") + what);
}

std::optional<SocketAddress> parse_numeric_address(std::string_view host, std::uint16_t port,
                                                   bool passive) {
  SocketAddress address;
  if (host.empty() && passive) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  std::memcpy(text.data(), host.data(), host.size());
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  if (::inet_pton(AF_INET, text.data(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  address.storage = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET6, text.data(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  return std::nullopt;
}

Task<std::vector<SocketAddress>> resolve_address(std::string host, std::uint16_t port,
                                                 bool passive) {
  if (std::optional<SocketAddress> numeric = parse_numeric_address(host, port, passive)) {
    co_return std::vector<SocketAddress>{*numeric};
  }
  // getaddrinfo may wait seconds for a DNS server: never on the loop thread.
  Resolution result = co_await to_thread(&blocking_resolve, std::move(host), port, passive);
  if (result.gai_error == EAI_SYSTEM) {
    throw_errno(result.sys_error, "getaddrinfo");
  }
  if (result.gai_error != 0) {
    throw std::system_error(result.gai_error, resolver_category(), "loopscope: getaddrinfo");
  }
  if (result.addresses.empty()) {
    throw std::system_error(EAI_NONAME, resolver_category(), "loopscope: getaddrinfo");
  }
  co_return std::move(result.addresses);
}

Endpoint to_endpoint(const sockaddr* address, socklen_t length) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  Endpoint endpoint;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size());
    endpoint.port = ntohs(v4->sin_port);
  } else if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size());
    endpoint.port = ntohs(v6->sin6_port);
  }
  endpoint.host = text.data();
  return endpoint;
}

}  // namespace loopscope::detail
