// Socket addresses for the TCP layer: parsing numeric hosts, resolving names off the loop
// thread, and turning addresses back into text.
//
// resolve_address() parses numeric IPv4/IPv6 hosts at once (no suspension) and hands
// names to getaddrinfo on another thread, so the loop never blocks on DNS. Included by the
// runtime's sources only: public headers speak in host strings and Endpoint.
#pragma once

#include <loopscope/task.hpp>

#include <cstdint>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <system_error>
#include <vector>

namespace loopscope {
struct Endpoint;
}

namespace loopscope::detail {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] const sockaddr* get() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  [[nodiscard]] int family() const noexcept { return storage.ss_family; }
};

// The category of getaddrinfo's EAI_* codes (messages from gai_strerror).
const std::error_category& resolver_category() noexcept;

// `host` as a numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "[::1]"), or nullopt if it
// is a name. With `passive`, an empty host means every IPv4 interface (INADDR_ANY).
std::optional<SocketAddress> parse_numeric_address(std::string_view host, std::uint16_t port,
                                                   bool passive);

// Every address `host` stands for, in getaddrinfo's order. Names are resolved on another
// thread; the task suspends meanwhile. Throws std::system_error (resolver_category() for
// EAI_* codes).
Task<std::vector<SocketAddress>> resolve_address(std::string host, std::uint16_t port,
                                                 bool passive);

// The numeric host and port of an address.
Endpoint to_endpoint(const sockaddr* address, socklen_t length);

// Throws std::system_error for `err` (an errno value), naming the failed operation.
[[noreturn]] void throw_errno(int err, const char* what);

}  // namespace loopscope::detail
