#include "osc/osc_server.h"

#include "osc/osc_dispatch.h"
#include "osc/osc_limits.h"
#include "osc/udp_socket.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus {

struct OscServer::Impl {
    OscOptions options;
    std::shared_ptr<const osc::UdpSocket> socket;
    std::unique_ptr<osc::Dispatcher> dispatcher;
    int stopPipe[2] = {-1, -1};
    std::thread thread;

    ~Impl() {
        if (thread.joinable()) {
            const char byte = 1;
            while (::write(stopPipe[1], &byte, 1) < 0 && errno == EINTR) {
            }
            thread.join();
        }
        dispatcher.reset(); // finishes queued /patch/ir jobs
        for (int fd : stopPipe)
            if (fd >= 0) ::close(fd);
    }

    /// The OSC receive thread: waits for datagrams (or the stop byte) and hands each to the
    /// dispatcher. Reads at most a batch before looking at the stop pipe again.
    void run() {
        std::vector<std::byte> buffer(osc::kMaxPacketBytes);
        for (;;) {
            pollfd fds[2] = {{socket->fd(), POLLIN, 0}, {stopPipe[0], POLLIN, 0}};
            // Woken at least every 100 ms to tell /notify subscribers of new xruns.
            const int ready = ::poll(fds, 2, 100);
            if (ready < 0) {
                if (errno == EINTR) continue;
                return;
            }
            if (fds[1].revents != 0) return;
            dispatcher->watch();
            for (int i = 0; i < 256; ++i) {
                osc::Endpoint from;
                auto size = socket->tryReceive(buffer.data(), buffer.size(), from);
                if (!size) break;
                dispatcher->handleDatagram(buffer.data(), *size, buffer.size(), from);
            }
        }
    }
};

OscServer::OscServer() : impl_(std::make_unique<Impl>()) {}

OscServer::~OscServer() = default;

Expected<std::unique_ptr<OscServer>> OscServer::bind(const OscOptions& options) {
    auto socket = osc::UdpSocket::bind(options.bind, options.port);
    if (!socket) return socket.error();
    return withSocket(socket.take(), options);
}

Expected<std::unique_ptr<OscServer>> OscServer::adopt(int fd, const OscOptions& options) {
    auto socket = osc::UdpSocket::adopt(fd);
    if (!socket) return socket.error();
    return withSocket(socket.take(), options);
}

Expected<std::unique_ptr<OscServer>> OscServer::withSocket(osc::UdpSocket socket,
                                                           const OscOptions& options) {
    std::unique_ptr<OscServer> server(new OscServer());
    Impl& impl = *server->impl_;
    impl.options = options;
    impl.socket = std::make_shared<const osc::UdpSocket>(std::move(socket));
    if (::pipe2(impl.stopPipe, O_CLOEXEC) != 0)
        return makeError("OSC: cannot create the stop pipe: {}", std::strerror(errno));
    return server;
}

Status OscServer::handleWith(Engine& engine) {
    Impl& impl = *impl_;
    if (impl.dispatcher) return makeError("OSC: the server already handles messages");
    impl.dispatcher = std::make_unique<osc::Dispatcher>(
        engine, osc::Replier(impl.socket, impl.options.verbose), impl.options);
    impl.thread = std::thread([&impl] { impl.run(); });
    if (impl.options.verbose) fmt::print(stderr, "[osc] handling messages on {}\n", address());
    return {};
}

Expected<std::unique_ptr<OscServer>> OscServer::start(Engine& engine, const OscOptions& options) {
    auto server = bind(options);
    if (!server) return server.error();
    if (Status s = (*server)->handleWith(engine); !s) return s.error();
    return server;
}

bool OscServer::quitRequested() const {
    return impl_->dispatcher && impl_->dispatcher->quitRequested();
}

int OscServer::port() const {
    return impl_->socket->port();
}

std::string OscServer::address() const {
    const std::string& host = impl_->options.bind;
    if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port());
    return fmt::format("{}:{}", host, port());
}

} // namespace chronus
