// Replies to a client: an OSC message encoded by liblo and sent from the server's own socket to the
// address and port the request came from (as scsynth does). Any thread: the commit outcome is sent
// from the engine's thread; the socket stays alive for as long as a pending reply holds it.
#pragma once

#include "osc/osc_message.h"
#include "osc/udp_socket.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronus::osc {

using ReplyArg = OscValue;

class Replier {
public:
    Replier(std::shared_ptr<const UdpSocket> socket, bool verbose)
        : socket_(std::move(socket)), verbose_(verbose) {}

    /// Sends `address args...` to `to`; false (and a log line when verbose) if it could not go.
    bool send(const Endpoint& to, const std::string& address,
              const std::vector<ReplyArg>& args) const;

    /// `/error address reason`, naming the address once: a reason that starts with it (as
    /// decodeCommand's do, for patch files: "/patch/create: missing argument 2") loses that prefix.
    bool error(const Endpoint& to, const std::string& address, const std::string& reason) const;

    bool verbose() const { return verbose_; }

private:
    std::shared_ptr<const UdpSocket> socket_;
    bool verbose_ = false;
};

} // namespace chronus::osc
