#include "osc/osc_client.h"

#include "osc/osc_limits.h"
#include "osc/status_reply.h"
#include "osc/udp_socket.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace chronus::osc {

Expected<OscClient> OscClient::connect(const std::string& host, int port) {
    if (port < 1 || port > 65535) return makeError("OSC port {} is out of range (1..65535)", port);
    const std::string server = host.find(':') != std::string::npos
                                   ? fmt::format("[{}]:{}", host, port)
                                   : fmt::format("{}:{}", host, port);
    auto fd = openUdp(host, port, UdpRole::connect);
    if (!fd) return fd.error();
    return OscClient(*fd, server);
}

OscClient::OscClient(OscClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), server_(std::move(other.server_)) {}

OscClient::~OscClient() {
    if (fd_ >= 0) ::close(fd_);
}

Status OscClient::send(const std::vector<std::byte>& datagram) {
    if (datagram.empty()) return makeError("nothing to send (liblo could not encode the message)");
    for (;;) {
        if (::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL) >= 0) return {};
        // A refusal reported for an earlier datagram surfaces here: this one was not sent.
        if (errno == EINTR || errno == ECONNREFUSED) continue;
        return makeError("cannot send to {}: {}", server_, std::strerror(errno));
    }
}

Status OscClient::send(const std::string& address, const std::vector<OscValue>& args) {
    return send(encodeMessage(address, args));
}

OscClient::Received OscClient::receive(Clock::time_point deadline, OscMessage& out,
                                       std::string& error) {
    std::vector<std::byte> buffer(kMaxPacketBytes);
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return Received::timeout;
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ECONNREFUSED) return Received::refused;
            if (errno == EINTR || errno == EAGAIN) continue;
            error = std::strerror(errno);
            return Received::garbage;
        }
        auto message = decodeMessage(buffer.data(), static_cast<std::size_t>(n));
        if (!message) {
            error = message.error().message;
            return Received::garbage;
        }
        out = message.take();
        return Received::message;
    }
}

Expected<EngineStatus> OscClient::waitForServer(double timeoutSeconds) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeoutSeconds));
    if (Status s = send("/engine/status"); !s) return s.error();
    for (;;) {
        OscMessage reply;
        std::string error;
        switch (receive(deadline, reply, error)) {
        case Received::message:
            if (reply.address == "/engine/status") return decodeStatus(reply);
            break; // a late reply to someone's earlier request on this port: not ours
        case Received::refused:
            // Nobody listens yet: `chronus serve` may still be starting. Try again shortly.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (Clock::now() >= deadline) break;
            if (Status s = send("/engine/status"); !s) return s.error();
            break;
        case Received::garbage:
            break;
        case Received::timeout:
            return makeError("the server did not answer at {} within {:g} s (is `chronus serve` "
                             "running there?)",
                             server_, timeoutSeconds);
        }
    }
}

} // namespace chronus::osc
