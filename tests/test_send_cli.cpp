// `chronus send` end to end: against a stand-in server (the test's own liblo server, so what the
// client puts on the wire is checked by something that is not Chronus), and against `chronus
// serve`: replies printed, exit status, a send started together with serve, a server that is not
// there, and a patch file played on a clock whose timed lines land on their exact sample.
#include "runtime/wav_file.h"
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <lo/lo.h>
#include <mutex>
#include <thread>

using namespace chronus;
using namespace chronus::test;

namespace {

const std::string kBinary = CHRONUS_BINARY;

/// A stand-in for `chronus serve`: answers /engine/status as the server does (fourteen labelled
/// fields), /patch/create with /done, /patch/commit with /patch/failed, and records every
/// message it gets with its OSC type tags.
class StandIn {
public:
    StandIn() {
        server_ = lo_server_new_with_proto(nullptr, LO_UDP, nullptr);
        lo_server_add_method(server_, nullptr, nullptr, &StandIn::onMessage, this);
        thread_ = std::thread([this] {
            while (!stop_) lo_server_recv_noblock(server_, 10);
        });
    }
    ~StandIn() {
        stop_ = true;
        thread_.join();
        lo_server_free(server_);
    }
    int port() const { return lo_server_get_port(server_); }
    /// "address types arg arg" per message, in arrival order.
    std::vector<std::string> received() {
        std::lock_guard lock(mutex_);
        return log_;
    }

private:
    static int onMessage(const char* path, const char* types, lo_arg** argv, int argc,
                         lo_message msg, void* self) {
        auto* s = static_cast<StandIn*>(self);
        std::string line = fmt::format("{} {}", path, types);
        for (int i = 0; i < argc; ++i) {
            if (types[i] == 'f') {
                float v;
                std::memcpy(&v, argv[i], sizeof v);
                line += fmt::format(" {}", v);
            } else if (types[i] == 's') {
                line += fmt::format(" {}", reinterpret_cast<const char*>(argv[i]));
            }
        }
        {
            std::lock_guard lock(s->mutex_);
            s->log_.push_back(line);
        }
        lo_address from = lo_message_get_source(msg);
        const std::string address = path;
        if (address == "/engine/status") {
            // Labelled, as the server answers: name, value, name, value, ...
            lo_message m = lo_message_new();
            lo_message_add(m, "sfsisisisisfsfsisisisfshsiss", "sample_rate", 48000.0f,
                           "block_frames", 256, "active_seq", 1, "callbacks", 10, "xruns", 0,
                           "load_p50", 0.01f, "load_p99", 0.02f, "commits", 1, "failures", 0,
                           "overruns", 0, "load_max", 0.03f, "sample_position", int64_t{2560},
                           "guard_trips", 0, "guard_cause", "none");
            lo_send_message_from(from, s->server_, "/engine/status", m);
            lo_message_free(m);
        } else if (address == "/patch/create")
            lo_send_from(from, s->server_, LO_TT_IMMEDIATE, "/done", "ss", "/patch/create",
                         reinterpret_cast<const char*>(argv[0]));
        else if (address == "/patch/commit")
            lo_send_from(from, s->server_, LO_TT_IMMEDIATE, "/patch/failed", "is", 7,
                         "simulated: the compiler gave up");
        return 0;
    }

    lo_server server_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::string> log_;
};

Run send(int port, const std::vector<std::string>& args, double timeout = 5) {
    std::vector<std::string> argv = {
        kBinary, "send", "--port", std::to_string(port), "--timeout", fmt::format("{}", timeout)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, tempPath("send", ".log"), timeout + 30);
}

/// `chronus serve --device null` on a free port, and that port.
struct Serve {
    int port = freeUdpPort();
    std::string log = tempPath(fmt::format("serve{}", port), ".log");
    std::unique_ptr<Child> child;
    explicit Serve(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv = {kBinary, "serve",  "--device",
                                         "null",  "--port", std::to_string(port)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        child = std::make_unique<Child>(argv, log);
    }
    ~Serve() { std::remove(log.c_str()); }
};

} // namespace

TEST_CASE("chronus send types arguments as a patch file does and waits for the answer",
          "[send][cli]") {
    StandIn standIn;
    Run r = send(standIn.port(), {"/patch/create", "osc1", "saw"});
    INFO(r.output);
    CHECK(r.rc == 0);
    CHECK_THAT(r.output, Catch::Contains("/done /patch/create osc1"));
    // Numbers as floats (negative ones too: everything from the address on is the message), words
    // as strings.
    r = send(standIn.port(), {"/mod/lfo1/depth", "-600"});
    CHECK(r.rc == 0);
    r = send(standIn.port(), {"/mod/filt1/mode", "hp"});
    CHECK(r.rc == 0);
    const auto got = standIn.received();
    auto has = [&](const std::string& line) {
        return std::find(got.begin(), got.end(), line) != got.end();
    };
    INFO(fmt::format("{}", fmt::join(got, "\n")));
    CHECK(has("/patch/create ss osc1 saw"));
    CHECK(has("/mod/lfo1/depth f -600"));
    CHECK(has("/mod/filt1/mode s hp"));
    // Each message was sent once, between the client's two /engine/status queries (the first
    // finds the server, the second orders what was sent before it).
    CHECK(std::count(got.begin(), got.end(), "/patch/create ss osc1 saw") == 1);
    CHECK(std::count_if(got.begin(), got.end(),
                        [](const std::string& l) { return l.starts_with("/engine/status"); }) == 6);
}

TEST_CASE("chronus send exits 1 on /patch/failed and 2 when nobody answers", "[send][cli]") {
    StandIn standIn;
    Run failed = send(standIn.port(), {"/patch/commit"});
    INFO(failed.output);
    CHECK(failed.rc == 1);
    CHECK_THAT(failed.output, Catch::Contains("/patch/failed 7: simulated: the compiler gave up"));

    const int nobody = freeUdpPort();
    Run silent = send(nobody, {"/patch/commit"}, 0.5);
    INFO(silent.output);
    CHECK(silent.rc == 2);
    CHECK_THAT(silent.output,
               Catch::Contains(fmt::format("did not answer at 127.0.0.1:{}", nobody)));

    Run usage = send(standIn.port(), {});
    CHECK(usage.rc != 0);
    CHECK_THAT(usage.output, Catch::Contains("give a message"));
}

TEST_CASE("chronus send against serve: replies, errors with one address, exit status",
          "[send][cli][serve]") {
    Serve serve;
    // Started together: the send waits for the server to bind and to be ready.
    Run created = send(serve.port, {"/patch/create", "osc1", "saw"}, 30);
    INFO(created.output << serve.child->output());
    CHECK(created.rc == 0);
    CHECK_THAT(created.output, Catch::Contains("/done /patch/create osc1"));
    Run typo = send(serve.port, {"/patch/create", "osc2", "simple_sin"});
    CHECK(typo.rc == 1);
    CHECK_THAT(typo.output, Catch::Contains("/error /patch/create: unknown module type "
                                            "'simple_sin' (did you mean 'simple_sine'?)"));
    Run committed = send(serve.port, {"/patch/commit"}, 30);
    CHECK(committed.rc == 0);
    CHECK_THAT(committed.output, Catch::Contains("/patch/committed 1"));
    Run write = send(serve.port, {"/mod/osc1/freq", "330"});
    CHECK(write.rc == 0);
    CHECK(write.output.empty()); // a write is answered only when it fails
    Run badWrite = send(serve.port, {"/mod/osc1/fre", "330"});
    CHECK(badWrite.rc == 1);
    CHECK_THAT(badWrite.output, Catch::Contains("(did you mean 'freq'?)"));
    Run dump = send(serve.port, {"/patch/dump"});
    CHECK(dump.rc == 0);
    CHECK_THAT(dump.output, Catch::Contains("/patch/create osc1 saw\n/mod/osc1/freq 330\n"));
    Run status = send(serve.port, {"/engine/status"});
    CHECK_THAT(status.output, Catch::Contains("active_seq 1,"));
    CHECK_THAT(status.output, Catch::Contains("sample_rate 48000,"));

    // The server's own error says its address once, as the reply's first argument.
    OscClient client(serve.port);
    client.send("/patch/create");
    auto e = client.waitFor("/error");
    REQUIRE(e);
    CHECK(e->str(0) == "/patch/create");
    CHECK(e->str(1) == "takes 2 to 3 arguments, got 0");

    Run quit = send(serve.port, {"/engine/quit"});
    CHECK(quit.rc == 0);
    CHECK(serve.child->wait(30) == 0);
}

TEST_CASE("serve binds before it starts the engine, and handles what came meanwhile",
          "[send][cli][serve]") {
    Serve serve;
    // The first thing serve prints is that it listens; the engine and device come after.
    REQUIRE(serve.child->waitForOutput("listening on 127.0.0.1:", 30));
    const std::string early = serve.child->output();
    CHECK(early.find("chronus serve: null") == std::string::npos);
    // Sent at once, no waiting for an answer: they wait in the socket until the engine is up.
    OscClient client(serve.port);
    client.send("/patch/create", {"osc1", "simple_sine"});
    client.send("/patch/commit");
    CHECK(client.waitFor("/done", 30));
    auto committed = client.waitFor("/patch/committed", 30);
    INFO(serve.child->output());
    REQUIRE(committed);
    CHECK(committed->num(0) == 1);
    client.send("/engine/quit");
    CHECK(serve.child->wait(30) == 0);
}

TEST_CASE("chronus send --file plays a patch file on a clock, checked against the server's patch",
          "[send][cli][serve]") {
    const std::string wav = tempPath("sendfile", ".wav");
    Serve serve({"--record", wav});
    REQUIRE(send(serve.port, {"/engine/status"}, 30).rc == 0);
    const std::string patch = tempPath("sendfile", ".patch");
    {
        std::ofstream f(patch);
        f << "/patch/create osc1 simple_sine\n/patch/create env1 adsr\n"
             "/mod/env1/attack 0\n/mod/env1/release 0\n/mod/env1/sustain 1\n"
             "/patch/connect osc1 env1\n/patch/commit\n"
             "@0.5 /gate/env1 1\n@1.0 /gate/env1 0\n";
    }
    Run played = send(serve.port, {"--file", patch}, 30);
    INFO(played.output);
    CHECK(played.rc == 0);
    CHECK_THAT(played.output, Catch::Contains("/patch/committed 1"));

    // Checked against the server's patch before anything is sent: a file of writes for modules
    // the server has is fine, and a bad line sends nothing at all.
    {
        std::ofstream f(patch);
        f << "/mod/osc1/freq 550\n/mod/osc1/freq 660\n/mod/nosuch/freq 1\n";
    }
    Run refused = send(serve.port, {"--file", patch});
    CHECK(refused.rc == 1);
    CHECK_THAT(refused.output, Catch::Contains(patch + ":3: unknown module id 'nosuch'"));
    CHECK_THAT(refused.output, Catch::Contains("nothing was sent"));
    Run dump = send(serve.port, {"/patch/dump"});
    CHECK(dump.output.find("550") == std::string::npos);
    CHECK(dump.output.find("660") == std::string::npos);

    REQUIRE(send(serve.port, {"/engine/quit"}).rc == 0);
    REQUIRE(serve.child->wait(30) == 0);
    auto audio = readWav(wav);
    REQUIRE(audio.ok());
    // The gate was open for the file's 0.5 s: both lines went as bundles stamped with their time,
    // which the server maps onto its block clock, each within a block (256 samples) of its time;
    // the attack and release are 0 ms.
    const auto& x = audio->samples;
    std::size_t on = 0, off = 0;
    for (std::size_t i = 1; i < x.size(); ++i) {
        if (on == 0 && std::fabs(x[i]) > 0.01f) on = i;
        if (on != 0 && std::fabs(x[i]) > 0.01f) off = i;
    }
    INFO("gate on at sample " << on << ", last sound at " << off);
    REQUIRE(on > 0);
    // The sine's last sample above 0.01 falls within a cycle (109 samples) before the gate closes.
    CHECK(double(off - on) == Approx(24000).margin(256 + 120));
    std::remove(wav.c_str());
    std::remove(patch.c_str());
}
