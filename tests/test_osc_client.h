// A liblo OSC client for the OSC tests: sends from its own server socket (so replies come back to
// it, as they would to any liblo client using lo_send_from) and collects the replies.
#pragma once

#include <arpa/inet.h>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <lo/lo.h>
#include <netinet/in.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <variant>
#include <vector>

namespace chronus::test {

/// A UDP port nobody is bound to right now (the kernel's choice), for this test's server.
inline int freeUdpPort() {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

struct OscReply {
    std::string address;
    std::string types;
    std::vector<std::variant<int64_t, double, std::string>> args;

    std::string str(size_t i) const {
        if (i >= args.size()) return "<missing>";
        if (const auto* s = std::get_if<std::string>(&args[i])) return *s;
        return "<not a string>";
    }
    double num(size_t i) const {
        if (i >= args.size()) return NAN;
        if (const auto* v = std::get_if<int64_t>(&args[i])) return static_cast<double>(*v);
        if (const auto* d = std::get_if<double>(&args[i])) return *d;
        return NAN;
    }
    /// A labelled reply's field (`/engine/status name value name value ...`): the value after the
    /// name, NAN if there is no such field.
    double field(const std::string& name) const {
        for (size_t i = 0; i + 1 < args.size(); i += 2)
            if (str(i) == name) return num(i + 1);
        return NAN;
    }
    std::string text() const {
        std::string s = address;
        for (size_t i = 0; i < args.size(); ++i) {
            s += ' ';
            if (std::holds_alternative<std::string>(args[i]))
                s += str(i);
            else
                s += std::to_string(num(i));
        }
        return s;
    }
};

/// One OSC argument as the tests write them.
using OscArg = std::variant<int32_t, float, double, std::string>;

class OscClient {
public:
    explicit OscClient(int serverPort, const char* host = "127.0.0.1") {
        server_ = lo_server_new_with_proto(nullptr, LO_UDP, nullptr);
        if (!server_) throw std::runtime_error("cannot create the client's reply server");
        lo_server_add_method(server_, nullptr, nullptr, &OscClient::onReply, this);
        target_ = lo_address_new(host, std::to_string(serverPort).c_str());
        port_ = serverPort;
    }
    ~OscClient() {
        lo_address_free(target_);
        lo_server_free(server_);
    }
    OscClient(const OscClient&) = delete;
    OscClient& operator=(const OscClient&) = delete;

    static lo_message build(const std::vector<OscArg>& args) {
        lo_message m = lo_message_new();
        for (const OscArg& a : args) {
            if (const auto* i = std::get_if<int32_t>(&a))
                lo_message_add_int32(m, *i);
            else if (const auto* f = std::get_if<float>(&a))
                lo_message_add_float(m, *f);
            else if (const auto* d = std::get_if<double>(&a))
                lo_message_add_double(m, *d);
            else
                lo_message_add_string(m, std::get<std::string>(a).c_str());
        }
        return m;
    }

    /// Sends `address args...` (ints as int32, floats as float32, strings as strings).
    void send(const std::string& address, const std::vector<OscArg>& args = {}) {
        lo_message m = build(args);
        sendMessage(address, m);
        lo_message_free(m);
    }
    void sendMessage(const std::string& address, lo_message m) {
        lo_send_message_from(target_, server_, address.c_str(), m);
    }
    /// A bundle of (address, message) at `when`; takes the messages.
    void sendBundle(lo_timetag when, const std::vector<std::pair<std::string, lo_message>>& msgs) {
        lo_bundle b = lo_bundle_new(when);
        for (const auto& [addr, m] : msgs) lo_bundle_add_message(b, addr.c_str(), m);
        lo_send_bundle_from(target_, server_, b);
        lo_bundle_free_recursive(b);
    }
    /// Raw bytes from the client's socket, for malformed datagrams liblo would never build.
    void sendRaw(const void* data, size_t size) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<uint16_t>(port_));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::sendto(lo_server_get_socket_fd(server_), data, size, 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof to);
    }

    /// The first reply at `address` (earlier replies to other addresses stay queued).
    std::optional<OscReply> waitFor(const std::string& address, double timeoutS = 5.0) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutS);
        for (;;) {
            for (auto it = replies_.begin(); it != replies_.end(); ++it) {
                if (it->address == address) {
                    OscReply r = std::move(*it);
                    replies_.erase(it);
                    return r;
                }
            }
            const auto left =
                std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) return std::nullopt;
            lo_server_recv_noblock(server_, static_cast<int>(std::ceil(left * 1000)));
        }
    }

    /// Everything that arrives within `seconds`.
    std::vector<OscReply> drain(double seconds = 0.2) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        for (;;) {
            const auto left =
                std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) break;
            lo_server_recv_noblock(server_, static_cast<int>(std::ceil(left * 1000)));
        }
        std::vector<OscReply> out(replies_.begin(), replies_.end());
        replies_.clear();
        return out;
    }

    int replyPort() const { return lo_server_get_port(server_); }

private:
    /// An argument read byte-wise: OSC data is 4-byte aligned, `lo_arg` 8-byte (UBSan).
    template <class T>
    static T arg(const lo_arg* a) {
        T v;
        std::memcpy(&v, reinterpret_cast<const char*>(a), sizeof v);
        return v;
    }

    static int onReply(const char* path, const char* types, lo_arg** argv, int argc, lo_message,
                       void* self) {
        OscReply r{path, types ? types : "", {}};
        for (int i = 0; i < argc; ++i) {
            switch (types[i]) {
            case 'i':
                r.args.emplace_back(int64_t{arg<int32_t>(argv[i])});
                break;
            case 'h':
                r.args.emplace_back(arg<int64_t>(argv[i]));
                break;
            case 'f':
                r.args.emplace_back(double{arg<float>(argv[i])});
                break;
            case 'd':
                r.args.emplace_back(arg<double>(argv[i]));
                break;
            case 's':
            case 'S':
                r.args.emplace_back(std::string(reinterpret_cast<const char*>(argv[i])));
                break;
            default:
                r.args.emplace_back(std::string("<type ") + types[i] + ">");
            }
        }
        static_cast<OscClient*>(self)->replies_.push_back(std::move(r));
        return 0;
    }

    lo_server server_ = nullptr;
    lo_address target_ = nullptr;
    int port_ = 0;
    std::deque<OscReply> replies_;
};

} // namespace chronus::test
