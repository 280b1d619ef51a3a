// Fuzz target: raw datagrams through the OSC server's path into a real Engine (see targets.h).
#include "compiler/interpreter.h"
#include "fuzz/targets.h"
#include "osc/osc_dispatch.h"
#include "osc/osc_limits.h"
#include "osc/udp_socket.h"
#include "runtime/engine.h"
#include "runtime/patch_dry_run.h"
#include "runtime/patch_file.h"

#include <chrono>
#include <memory>
#include <netinet/in.h>
#include <thread>
#include <vector>

namespace chronus::fuzz {

namespace {

constexpr uint32_t kFrames = 64;

/// The server's socket (replies go from it) and a client socket the replies go to, drained after
/// each input. Made once per process: sockets are the only thing inputs share.
struct Sockets {
    std::shared_ptr<const osc::UdpSocket> server;
    std::unique_ptr<osc::UdpSocket> client;
    osc::Endpoint clientAddress;

    Sockets() {
        auto s = osc::UdpSocket::bind("127.0.0.1", 0);
        auto c = osc::UdpSocket::bind("127.0.0.1", 0);
        if (!s || !c) fuzzFailure("osc", "cannot bind the loopback sockets");
        server = std::make_shared<const osc::UdpSocket>(s.take());
        client = std::make_unique<osc::UdpSocket>(c.take());
        auto* in = reinterpret_cast<sockaddr_in*>(&clientAddress.addr);
        in->sin_family = AF_INET;
        in->sin_port = htons(static_cast<uint16_t>(client->port()));
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        clientAddress.len = sizeof(sockaddr_in);
    }

    void drain() const {
        std::vector<std::byte> buffer(osc::kMaxPacketBytes);
        osc::Endpoint from;
        while (client->tryReceive(buffer.data(), buffer.size(), from)) {
        }
    }
};

uint32_t readBe32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

/// One datagram, or several in OSC 1.0 stream framing: a size that does not fit what is left
/// means the rest is one datagram.
std::vector<std::pair<const uint8_t*, std::size_t>> split(const uint8_t* data, std::size_t size) {
    std::vector<std::pair<const uint8_t*, std::size_t>> out;
    while (size > 0 && out.size() < 64) {
        const uint32_t n = size >= 4 ? readBe32(data) : 0;
        if (size < 4 || n == 0 || n > size - 4) {
            out.emplace_back(data, size);
            break;
        }
        out.emplace_back(data + 4, n);
        data += 4 + n;
        size -= 4 + n;
    }
    return out;
}

/// Plays the audio thread's part: one block, as a backend would.
void audioBlock(Engine& engine) {
    float out[kFrames];
    engine.audioThreadRender(out, kFrames);
}

/// The replayed dump must give the same text again (what `serve --state` relies on): the patch
/// (templates, maps and polys first), then the MIDI routes, which the graph does not hold.
void checkDumpReplays(const std::string& dump) {
    auto lines = parsePatchText(dump);
    if (!lines) fuzzFailure("osc", ("the dump does not parse: " + lines.error().message).c_str());
    PatchDryRun g;
    std::string routes;
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        if (!cmd)
            fuzzFailure("osc", ("a dump line does not decode: " + cmd.error().message).c_str());
        const CommandKind kind = commandKind(*cmd);
        const bool midi = std::holds_alternative<MidiRouteCommand>(*cmd) ||
                          std::holds_alternative<MidiCcCommand>(*cmd) ||
                          std::holds_alternative<MidiBendCommand>(*cmd);
        if (midi)
            routes += line.address;
        else if (!routes.empty())
            fuzzFailure("osc", "the dump has a patch line after its MIDI routes");
        if ((kind != CommandKind::edit && kind != CommandKind::commit &&
             (kind != CommandKind::write || std::holds_alternative<NoteCommand>(*cmd))) ||
            std::holds_alternative<DeleteCommand>(*cmd) ||
            std::holds_alternative<DisconnectCommand>(*cmd))
            fuzzFailure("osc", "the dump holds a line that is not an edit, a value, a MIDI route "
                               "or a commit");
        if (Status s = g.apply(*cmd); !s)
            fuzzFailure("osc", ("a dump line is refused: " + s.message()).c_str());
    }
    const std::string graph = g.pending().toPatchText();
    if (!dump.starts_with(graph)) fuzzFailure("osc", "the dump does not replay to itself");
    auto rest = parsePatchText(dump.substr(graph.size()));
    std::string restRoutes;
    for (const PatchLine& line : rest ? *rest : std::vector<PatchLine>{})
        restRoutes += line.address;
    if (!rest || restRoutes != routes)
        fuzzFailure("osc", "the dump's text after the patch is not its MIDI routes");
}

} // namespace

int oscDatagrams(const uint8_t* data, std::size_t size) {
    static const Sockets sockets;
    EngineOptions eo;
    eo.frames = kFrames;
    eo.warmupBlocks = 1;
    eo.primeTimeoutMs = 5000; // the target drives audio; a commit that waits this long is a hang
    eo.factory = [](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
        return makeInterpreter(s);
    };
    auto engine = Engine::create(eo);
    if (!engine) fuzzFailure("osc", engine.error().message.c_str());
    {
        OscOptions oo;
        osc::Dispatcher dispatcher(**engine, osc::Replier(sockets.server, false), oo);
        for (auto [p, n] : split(data, size)) {
            dispatcher.handleDatagram(reinterpret_cast<const std::byte*>(p), n,
                                      osc::kMaxPacketBytes, sockets.clientAddress);
            audioBlock(**engine);
        }
        // Every commit the datagrams started, and one more, must settle while audio runs.
        const uint64_t last = (*engine)->commit({});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!(*engine)->commitSettled(last)) {
            if (std::chrono::steady_clock::now() > deadline)
                fuzzFailure("osc", "a commit did not settle within 20 s of audio");
            audioBlock(**engine);
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        checkDumpReplays((*engine)->dump());
    }
    engine->reset();
    sockets.drain();
    return 0;
}

} // namespace chronus::fuzz
