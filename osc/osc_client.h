// The client side of the OSC namespace, for `chronus send` and `chronus top`: one UDP socket
// connected to the server, so that the server's replies (sent to the sender's address, as
// scsynth does) come back to it, and so that the kernel reports a datagram that found nobody
// listening (ICMP port unreachable) instead of dropping it without a word.
#pragma once

#include "base/expected.h"
#include "osc/osc_message.h"
#include "runtime/engine.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace chronus::osc {

class OscClient {
public:
    using Clock = std::chrono::steady_clock;

    /// Resolves `host` (a name or numeric address) and connects a UDP socket to `host:port`.
    static Expected<OscClient> connect(const std::string& host, int port);
    OscClient(OscClient&& other) noexcept;
    OscClient& operator=(OscClient&&) = delete;
    OscClient(const OscClient&) = delete;
    ~OscClient();

    /// "127.0.0.1:57130", for messages.
    const std::string& server() const { return server_; }

    /// Sends one datagram (an encoded message or bundle).
    Status send(const std::vector<std::byte>& datagram);
    Status send(const std::string& address, const std::vector<OscValue>& args = {});

    enum class Received {
        message, ///< `out` holds a reply
        refused, ///< an earlier datagram found no server listening at the port
        timeout, ///< nothing by `deadline`
        garbage, ///< a datagram that is not an OSC message (`error` says why)
    };
    /// Waits until `deadline` for the next reply.
    Received receive(Clock::time_point deadline, OscMessage& out, std::string& error);

    /// Sends `/engine/status` until the server answers, for at most `timeoutSeconds`, and returns
    /// what it answered. A query is sent again only when the kernel reports it refused (nobody
    /// bound to the port yet: the server is still starting), so exactly one reaches the server,
    /// and a server that has bound its socket but is still starting answers once it is ready.
    /// Other replies that arrive meanwhile are dropped. The error says the server did not answer
    /// at host:port.
    Expected<EngineStatus> waitForServer(double timeoutSeconds);

private:
    OscClient(int fd, std::string server) : fd_(fd), server_(std::move(server)) {}
    int fd_ = -1;
    std::string server_;
};

} // namespace chronus::osc
