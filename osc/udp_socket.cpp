#include "osc/udp_socket.h"

#include "osc/osc_limits.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>
#include <utility>

namespace chronus::osc {

std::string Endpoint::text() const {
    char host[NI_MAXHOST] = "?";
    char serv[NI_MAXSERV] = "?";
    getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    if (addr.ss_family == AF_INET6) return fmt::format("[{}]:{}", host, serv);
    return fmt::format("{}:{}", host, serv);
}

namespace {

int boundPort(int fd) {
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return -1;
    if (bound.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (bound.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return -1;
}

} // namespace

Expected<int> openUdp(const std::string& host, int port, UdpRole role) {
    const bool binding = role == UdpRole::bind;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV | (binding ? AI_PASSIVE : 0);
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const char* node = binding && host.empty() ? nullptr : host.c_str();
    if (int rc = getaddrinfo(node, service.c_str(), &hints, &found))
        return makeError("OSC: cannot resolve {}'{}': {}", binding ? "bind address " : "", host,
                         gai_strerror(rc));
    std::string lastError = binding ? "no address to bind" : "no address";
    int fd = -1;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            lastError = std::strerror(errno);
            continue;
        }
        const int rc = binding ? ::bind(fd, ai->ai_addr, ai->ai_addrlen)
                               : ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0) break;
        lastError =
            binding && errno == EADDRINUSE ? "the port is already in use" : std::strerror(errno);
        ::close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0) {
        if (binding) return makeError("OSC: cannot bind UDP {}:{}: {}", host, port, lastError);
        const bool v6 = host.find(':') != std::string::npos;
        return makeError("OSC: cannot open a socket to {}{}{}:{}: {}", v6 ? "[" : "", host,
                         v6 ? "]" : "", port, lastError);
    }
    return fd;
}

Expected<UdpSocket> UdpSocket::bind(const std::string& host, int port) {
    if (port < 0 || port > 65535) return makeError("OSC port {} is out of range (0..65535)", port);
    auto opened = openUdp(host, port, UdpRole::bind);
    if (!opened) return opened.error();
    const int fd = *opened;
    const int rcvbuf = kReceiveBufferBytes;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); // best effort
    const int actual = boundPort(fd);
    return UdpSocket(fd, actual > 0 ? actual : port);
}

Expected<UdpSocket> UdpSocket::adopt(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM)
        return makeError("OSC: descriptor {} is not a UDP socket", fd);
    const int port = boundPort(fd);
    if (port <= 0) return makeError("OSC: the socket handed down (descriptor {}) is not bound", fd);
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return UdpSocket(fd, port);
}

int UdpSocket::release() {
    return std::exchange(fd_, -1);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        port_ = other.port_;
    }
    return *this;
}

UdpSocket::~UdpSocket() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::size_t> UdpSocket::tryReceive(std::byte* buffer, std::size_t capacity,
                                                 Endpoint& from) const {
    for (;;) {
        from.len = sizeof from.addr;
        const ssize_t n = ::recvfrom(fd_, buffer, capacity, MSG_DONTWAIT | MSG_TRUNC,
                                     reinterpret_cast<sockaddr*>(&from.addr), &from.len);
        if (n >= 0) return static_cast<std::size_t>(n);
        // EINTR, or an ICMP error left by an earlier reply to a closed port (reported once): retry.
        if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
            errno == ENETUNREACH)
            continue;
        return std::nullopt; // EAGAIN: nothing waiting
    }
}

bool UdpSocket::sendTo(const Endpoint& to, const void* data, std::size_t size) const {
    for (;;) {
        const ssize_t n = ::sendto(fd_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL,
                                   reinterpret_cast<const sockaddr*>(&to.addr), to.len);
        if (n >= 0) return true;
        if (errno != EINTR) return false;
    }
}

} // namespace chronus::osc
