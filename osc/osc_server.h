// The OSC adapter: a liblo server thread that decodes each message, validates it and hands it to
// the engine's control API, replying to the sender. It never compiles, renders or blocks.
//
// CONTRACT (shared by osc/ and cli/cmd_serve.cpp): `serve` binds it first, before anything slow
// (JIT start, device open, state restore), and starts handling once the engine runs; datagrams
// that arrive in between wait in the socket, in order, and are handled then.
#pragma once

#include "base/expected.h"
#include "osc/udp_socket.h"

#include <memory>
#include <string>

namespace chronus {

class Engine;

inline constexpr int kDefaultOscPort = 57130;

struct OscOptions {
    std::string bind = "127.0.0.1";
    int port = kDefaultOscPort;
    std::string irDir;    ///< where /patch/ir writes; empty: /patch/ir replies with an error
    bool verbose = false; ///< CHRONUS_VERBOSE=1: log each message handled (not on the audio thread)
};

class OscServer {
public:
    /// Binds the socket now and nothing else (a few system calls): from here on datagrams wait in
    /// the socket's receive buffer (kReceiveBufferBytes) until handleWith(). Fails with a clear
    /// message (port in use, bad address).
    static Expected<std::unique_ptr<OscServer>> bind(const OscOptions& options);
    /// Like bind(), with the socket `fd` that another program bound (see UdpSocket::adopt).
    static Expected<std::unique_ptr<OscServer>> adopt(int fd, const OscOptions& options);
    /// Starts the receive thread, which hands every datagram (those already waiting first) to
    /// `engine` (which must outlive the server). Once.
    Status handleWith(Engine& engine);
    /// bind(), then handleWith(engine).
    static Expected<std::unique_ptr<OscServer>> start(Engine& engine, const OscOptions& options);
    ~OscServer(); ///< stops the thread

    /// True once a client sent /engine/quit; `serve` polls this and shuts down.
    bool quitRequested() const;
    int port() const;
    /// "127.0.0.1:57130"
    std::string address() const;

private:
    OscServer();
    static Expected<std::unique_ptr<OscServer>> withSocket(osc::UdpSocket socket,
                                                           const OscOptions& options);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace chronus
