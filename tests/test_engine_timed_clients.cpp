// Issue 15, case 9: one client cannot block every client's timed events. Each client (an OSC
// sender) has a quota of waiting events; the error names the limit and the option that raises it;
// events for a module that a commit deleted, or that only an aborted edit had made, are dropped
// and free their client's quota. (The pending patch is one for all clients: an abort drops every
// client's pending edits, README "Reliability".)
#include "tests/test_engine_harness.h"

#include <fmt/format.h>

using namespace chronus;
using namespace chronus::test;

namespace {

constexpr uint64_t kAlice = 3, kBob = 5;
constexpr uint64_t kFar = 48000ull * 3600; // an hour ahead

EngineOptions quotaOptions() {
    EngineOptions o;
    o.factory = interpreterFactory();
    o.timedEventCapacity = 64;
    o.timedEventsPerClient = 16;
    return o;
}

/// Fills `client`'s quota with far-future events for `id`.
void fillQuota(OfflineRig& rig, uint64_t client, const std::string& id) {
    for (uint64_t i = 0; i < 16; ++i) {
        INFO("event " << i);
        REQUIRE(rig.engine->setParamAt(kFar + i, id, "freq", 300.0f + float(i), client).ok());
    }
}

float peak(const std::vector<float>& x) {
    float p = 0;
    for (float v : x) p = std::max(p, std::fabs(v));
    return p;
}

} // namespace

TEST_CASE("one client's far-future events leave every other client's timed events alone",
          "[engine][timed][clients]") {
    OfflineRig rig(quotaOptions());
    rig.apply("/patch/create osc1 simple_sine\n/mod/osc1/gain 0.1\n/patch/commit\n");
    rig.render(256);
    fillQuota(rig, kAlice, "osc1");
    Status refused = rig.engine->setParamAt(kFar, "osc1", "freq", 100.0f, kAlice);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.message(), Catch::Contains("this client has 16 timed events waiting") &&
                                      Catch::Contains("--timed-events-per-client"));

    // Bob's event lands on its sample all the same (before: the queue was full for everyone).
    const uint64_t at = rig.position() + 1000;
    REQUIRE(rig.engine->setParamAt(at, "osc1", "gain", 0.5f, kBob).ok());
    rig.render(4800);
    CHECK(peak(rig.slice(at - 800, at)) == Approx(0.1).margin(0.01));
    CHECK(peak(rig.slice(at + 960, at + 4000)) == Approx(0.5).margin(0.02));

    // The engine's own patch player (client 0) has no quota of its own; the queue's bound holds.
    for (uint64_t i = 0; i < 64 - 16; ++i)
        REQUIRE(rig.engine->setParamAt(kFar + 100 + i, "osc1", "freq", 200.0f).ok());
    refused = rig.engine->setParamAt(kFar, "osc1", "freq", 100.0f, kBob);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.message(),
               Catch::Contains("the engine's limit") && Catch::Contains("--timed-events"));
}

TEST_CASE("a commit that deletes a module drops its timed events and frees their quota",
          "[engine][timed][clients]") {
    OfflineRig rig(quotaOptions());
    rig.apply("/patch/create osc1 simple_sine\n/patch/create far simple_sine\n/patch/commit\n");
    rig.render(256);
    fillQuota(rig, kAlice, "far");
    REQUIRE_FALSE(rig.engine->setParamAt(kFar, "osc1", "freq", 100.0f, kAlice).ok());

    // Deleting `far` is not enough while the patch that plays still has it ...
    REQUIRE(rig.engine->remove("far").ok());
    rig.render(256);
    CHECK_FALSE(rig.engine->setParamAt(kFar, "osc1", "freq", 100.0f, kAlice).ok());
    // ... its commit is: the events could never play (before: they held the queue for an hour).
    REQUIRE(rig.commit().ok);
    rig.render(256); // the audio thread drops them at its next block
    fillQuota(rig, kAlice, "osc1");
    CHECK_THAT(rig.engine->dump(), !Catch::Contains("far"));
}

TEST_CASE("an abort drops the timed events of the modules only its edits had made",
          "[engine][timed][clients]") {
    OfflineRig rig(quotaOptions());
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(256);
    // Alice creates a module, schedules its events, and Bob aborts: the pending patch is shared,
    // so Bob's abort drops Alice's edit, and with it her events.
    REQUIRE(rig.engine->create("pending", "simple_sine").ok());
    fillQuota(rig, kAlice, "pending");
    fillQuota(rig, kBob, "osc1");
    rig.engine->abort();
    rig.render(256);
    CHECK_FALSE(rig.engine->setParamAt(kFar, "pending", "freq", 100.0f, kAlice).ok()); // gone
    fillQuota(rig, kAlice, "osc1"); // her quota is free again
    // Bob's events were for a module that plays: kept.
    CHECK_FALSE(rig.engine->setParamAt(kFar, "osc1", "freq", 100.0f, kBob).ok());
}
