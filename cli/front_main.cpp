// `chronus`, the program users run. It links no engine and no LLVM, so it starts in milliseconds
// (the engine program loads libLLVM, 0.1-0.2 s of dynamic loading before its main even runs):
// - `send` and `top` run here (`send --file` needs the patch player: it goes on as below);
// - `serve`: the OSC socket is bound here first, at once, and handed down to the engine program
//   (CHRONUS_OSC_FD), so a client started at the same moment finds the port bound and what it
//   sends waits in the socket until the engine handles it;
// - every other command, and --help and --version, run in `chronus-engine`, exec'd with the same
//   arguments (same process, same exit status).
#include "cli/commands.h"
#include "cli/send.h"
#include "osc/udp_socket.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

char** gArgv = nullptr;

/// `chronus-engine` beside this program (a build tree), else in ../libexec/chronus (installed).
std::string enginePath() {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::filesystem::path dir = ec ? std::filesystem::path(".") : self.parent_path();
    for (const auto& candidate :
         {dir / "chronus-engine", dir / ".." / "libexec" / "chronus" / "chronus-engine"})
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    return {};
}

/// Becomes `chronus-engine` with this program's arguments; returns only if that failed.
int execEngine() {
    const std::string engine = enginePath();
    if (engine.empty()) {
        fmt::print(stderr, "chronus: cannot find chronus-engine beside this program or in "
                           "../libexec/chronus\n");
        return 127;
    }
    ::execv(engine.c_str(), gArgv);
    fmt::print(stderr, "chronus: cannot run {}: {}\n", engine, std::strerror(errno));
    return 127;
}

/// serve's own --bind, --port and --no-osc, read the way its options are written
/// (`--port N` or `--port=N`); nothing when serve will not listen, or when the arguments are
/// not plain enough to be sure (the engine then binds, and reports any error itself).
std::optional<std::pair<std::string, int>> serveAddress(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = chronus::kDefaultOscPort;
    if (const char* env = std::getenv("CHRONUS_PORT")) port = std::atoi(env);
    for (int i = 2; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view name) -> std::optional<std::string> {
            if (a == name && i + 1 < argc) return std::string(argv[++i]);
            if (a.size() > name.size() + 1 && a.starts_with(name) && a[name.size()] == '=')
                return std::string(a.substr(name.size() + 1));
            return std::nullopt;
        };
        if (a == "--no-osc" || a == "--list-devices" || a == "-h" || a == "--help")
            return std::nullopt;
        if (auto v = value("--bind")) {
            host = *v;
        } else if (auto p = value("--port")) {
            char* end = nullptr;
            const long n = std::strtol(p->c_str(), &end, 10);
            if (p->empty() || *end != '\0' || n < 0 || n > 65535) return std::nullopt;
            port = static_cast<int>(n);
        }
    }
    return std::make_pair(host, port);
}

/// Binds serve's socket and leaves it open across the exec, named in CHRONUS_OSC_FD.
void bindForServe(int argc, char** argv) {
    const auto address = serveAddress(argc, argv);
    if (!address) return;
    auto socket = chronus::osc::UdpSocket::bind(address->first, address->second);
    if (!socket) return; // the engine binds again and says why it cannot
    const int port = socket->port();
    const int fd = socket->release();
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) {
        ::close(fd);
        return;
    }
    ::setenv("CHRONUS_OSC_FD", std::to_string(fd).c_str(), 1);
    const std::string& host = address->first;
    fmt::print(stderr, "chronus: listening on {} (OSC/UDP)\n",
               host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                   : fmt::format("{}:{}", host, port));
}

} // namespace

int main(int argc, char** argv) {
    gArgv = argv;
    const std::string_view command = argc > 1 ? argv[1] : "";
    if (command == "send" || command == "top") {
        CLI::App app{"chronus: a live modular-synthesis engine that JIT-compiles each patch"};
        app.require_subcommand(1);
        app.option_defaults()->always_capture_default();
        chronus::cli::addSendCommand(
            app,
            [](chronus::osc::OscClient&, const chronus::cli::SendArgs&) { return execEngine(); });
        chronus::cli::addTopCommand(app);
        CLI11_PARSE(app, argc, argv);
        return 0;
    }
    if (command == "serve") bindForServe(argc, argv);
    return execEngine();
}
