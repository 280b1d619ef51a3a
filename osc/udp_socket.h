// The server's UDP socket, bound to one address (127.0.0.1 unless told otherwise). liblo 0.31
// cannot bind a unicast server to a given address (it always binds every interface), so the socket
// is ours; liblo encodes and decodes the messages.
#pragma once

#include "base/expected.h"

#include <cstddef>
#include <optional>
#include <string>
#include <sys/socket.h>

namespace chronus::osc {

/// Where a datagram came from, and where its replies go.
struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text() const; ///< "127.0.0.1:50123", "[::1]:50123"
};

/// What to do with a resolved address once a socket is open on it.
enum class UdpRole {
    bind,    ///< a server's socket: bound there (a passive address when the host is empty)
    connect, ///< a client's: connected there, so replies come back and refusals are reported
};
/// Resolves `host:port` and opens a UDP socket on the first address that takes the `role`
/// (getaddrinfo's order: IPv4 and IPv6 alike). Returns the descriptor (close-on-exec), or an error
/// naming the address and the last reason ("OSC: cannot bind UDP 127.0.0.1:57130: the port is
/// already in use"). The server's bind and the client's connect both walk the addresses here.
Expected<int> openUdp(const std::string& host, int port, UdpRole role);

class UdpSocket {
public:
    /// Binds `host` (numeric address or name) at `port` (0: any free port).
    static Expected<UdpSocket> bind(const std::string& host, int port);
    /// Takes over a UDP socket another program bound and handed down (`chronus` binds serve's
    /// socket before it starts the engine program); fails if `fd` is not a bound UDP socket.
    static Expected<UdpSocket> adopt(int fd);
    /// Gives the descriptor up without closing it (to hand it down to another program).
    int release();
    UdpSocket(UdpSocket&& other) noexcept;
    UdpSocket& operator=(UdpSocket&& other) noexcept;
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    ~UdpSocket();

    int port() const { return port_; }
    int fd() const { return fd_; }

    /// Reads one waiting datagram without blocking: its real size (more than `capacity` if it was
    /// cut), or nothing if none is waiting.
    std::optional<std::size_t> tryReceive(std::byte* buffer, std::size_t capacity,
                                          Endpoint& from) const;

    /// Sends one datagram without blocking; any thread. False if the kernel refused it.
    bool sendTo(const Endpoint& to, const void* data, std::size_t size) const;

private:
    UdpSocket(int fd, int port) : fd_(fd), port_(port) {}
    int fd_ = -1;
    int port_ = 0;
};

} // namespace chronus::osc
