// The server's scsynth conventions end to end, against `chronus serve` with the test's own liblo
// client: /version, /status (scsynth's /status.reply order), /sync answered only after every
// commit sent before it has been reported, and refusals for what they cannot take.
#include "tests/support/cli_process.h"
#include "tests/test_engine_harness.h"
#include "tests/test_osc_client.h"

#include <catch2/catch.hpp>
#include <filesystem>

using namespace chronus;
using namespace chronus::test;

namespace {

/// A null-device serve on a free port, answering.
struct Server {
    int port = freeUdpPort();
    std::string log = tempPath("conventions", ".log");
    Child serve{{CHRONUS_BINARY, "serve", "--device", "null", "--seconds", "30", "--port",
                 std::to_string(port)},
                log};
    OscClient client{port};

    bool up() {
        for (int i = 0; i < 100; ++i) {
            client.send("/engine/status");
            if (client.waitFor("/engine/status", 0.1)) return true;
        }
        return false;
    }
};

} // namespace

TEST_CASE("/version and /status answer as scsynth's do", "[osc][e2e]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    s.client.send("/version");
    auto v = s.client.waitFor("/version.reply");
    REQUIRE(v);
    REQUIRE(v->args.size() == 6);
    CHECK(v->str(0) == "chronus");
    CHECK(v->num(1) == 0);
    CHECK(v->num(2) == 1);
    CHECK(v->str(3) == ".0");

    s.client.send("/status");
    auto idle = s.client.waitFor("/status.reply");
    REQUIRE(idle);
    REQUIRE(idle->args.size() == 9);
    CHECK(idle->num(0) == 1);
    CHECK(idle->num(1) == 0); // no modules
    CHECK(idle->num(2) == 0); // nothing plays
    CHECK(idle->num(7) == 48000);
    CHECK(idle->num(8) == 48000);

    s.client.send("/patch/create", {"osc1", "saw"});
    s.client.send("/patch/create", {"env1", "adsr"});
    s.client.send("/patch/connect", {"osc1", "env1"});
    s.client.send("/patch/commit");
    REQUIRE(s.client.waitFor("/patch/committed", 20));
    s.client.send("/status");
    auto playing = s.client.waitFor("/status.reply");
    REQUIRE(playing);
    CHECK(playing->num(1) == 2);
    CHECK(playing->num(2) == 1);
    CHECK(playing->num(5) >= 0);
    CHECK(playing->num(6) >= playing->num(5)); // peak at least the average

    s.client.send("/status", {1});
    auto refused = s.client.waitFor("/error");
    REQUIRE(refused);
    CHECK(refused->str(0) == "/status");
}

TEST_CASE("/sync is answered once every commit sent before it has been reported", "[osc][e2e]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    // Nothing outstanding: at once.
    s.client.send("/sync", {7});
    auto first = s.client.waitFor("/synced");
    REQUIRE(first);
    CHECK(first->num(0) == 7);

    // Three commits, then the sync: its /synced comes after the third's report, whatever the
    // compiles take.
    for (const char* id : {"a", "b", "c"}) {
        s.client.send("/patch/create", {id, "saw"});
        s.client.send("/patch/commit");
    }
    s.client.send("/sync", {42});
    std::vector<std::string> order;
    for (int i = 0; i < 400 && (order.empty() || order.back() != "/synced 42"); ++i)
        for (const OscReply& r : s.client.drain(0.05))
            if (r.address == "/patch/committed" || r.address == "/patch/failed" ||
                r.address == "/synced")
                order.push_back(r.address == "/synced" ? "/synced " + std::to_string(int(r.num(0)))
                                                       : r.address);
    INFO(Catch::Detail::stringify(order));
    REQUIRE(order.size() == 4);
    CHECK(order[0] == "/patch/committed");
    CHECK(order[1] == "/patch/committed");
    CHECK(order[2] == "/patch/committed");
    CHECK(order[3] == "/synced 42");

    // An edit is applied before the /sync after it is answered: /patch/dump then shows it.
    s.client.send("/mod/a/freq", {330.0f});
    s.client.send("/sync", {43});
    REQUIRE(s.client.waitFor("/synced"));
    s.client.send("/patch/dump");
    auto dump = s.client.waitFor("/patch/dump");
    REQUIRE(dump);
    CHECK_THAT(dump->str(2), Catch::Contains("/mod/a/freq 330"));

    // chronus send waits for the /synced, after the commit before it.
    s.client.send("/patch/create", {"d", "saw"});
    s.client.send("/patch/commit");
    Child send({CHRONUS_BINARY, "send", "--port", std::to_string(s.port), "/sync", "5"},
               tempPath("send_sync", ".log"));
    CHECK(send.wait(20) == 0);
    CHECK_THAT(send.output(), Catch::Contains("/synced 5"));

    // Refused: no id, a fraction, and inside a bundle.
    s.client.send("/sync");
    auto noId = s.client.waitFor("/error");
    REQUIRE(noId);
    CHECK(noId->str(0) == "/sync");
    s.client.send("/sync", {1.5f});
    REQUIRE(s.client.waitFor("/error"));
    s.client.sendBundle(LO_TT_IMMEDIATE, {{"/sync", OscClient::build({1})}});
    auto bundled = s.client.waitFor("/error");
    REQUIRE(bundled);
    CHECK_THAT(bundled->str(1), Catch::Contains("not inside a bundle"));
}

TEST_CASE("/notify: a second client sees the commits of another, until it stops", "[osc][e2e]") {
    Server s;
    INFO(fileText(s.log));
    REQUIRE(s.up());
    OscClient watcher(s.port);
    watcher.send("/notify", {1});
    auto subscribed = watcher.waitFor("/done");
    REQUIRE(subscribed);
    CHECK(subscribed->str(0) == "/notify");

    s.client.send("/patch/create", {"osc1", "saw"});
    s.client.send("/patch/commit");
    REQUIRE(s.client.waitFor("/patch/committed", 20));
    auto seen = watcher.waitFor("/patch/committed", 5);
    REQUIRE(seen);
    CHECK(seen->num(0) == 1);
    // The sender's own outcome is not sent to it a second time (failures go the same way).
    for (const OscReply& r : s.client.drain(0.3)) CHECK(r.address != "/patch/committed");

    // Unsubscribed: nothing more.
    watcher.send("/notify", {0});
    REQUIRE(watcher.waitFor("/done"));
    s.client.send("/patch/create", {"osc2", "saw"});
    s.client.send("/patch/commit");
    REQUIRE(s.client.waitFor("/patch/committed", 20));
    CHECK_FALSE(watcher.waitFor("/patch/committed", 0.5));

    watcher.send("/notify", {2});
    REQUIRE(watcher.waitFor("/error"));
}
