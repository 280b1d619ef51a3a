// The control API as OSC and patch files use it: apply() for every command, replies, errors that
// change nothing, abort, and commits queued in order.
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {
Status applyLine(Engine& e, const std::string& address, std::vector<PatchArg> args,
                 std::string* reply = nullptr) {
    auto cmd = decodeCommand(address, args);
    REQUIRE(cmd.ok());
    return e.apply(*cmd, reply);
}
} // namespace

TEST_CASE("apply runs every command, dump and status reply with text", "[engine][control]") {
    OfflineRig rig;
    Engine& e = *rig.engine;
    REQUIRE(applyLine(e, "/patch/create", {std::string("osc1"), std::string("simple_sine")}).ok());
    REQUIRE(applyLine(e, "/patch/create", {std::string("f1"), std::string("biquad_filter")}).ok());
    REQUIRE(applyLine(e, "/patch/connect", {std::string("osc1"), std::string("f1")}).ok());
    REQUIRE(applyLine(e, "/mod/f1/mode", {std::string("hp")}).ok()); // a choice by name
    REQUIRE(applyLine(e, "/mod/osc1/freq", {330.0f}).ok());
    std::string reply;
    REQUIRE(applyLine(e, "/patch/commit", {}, &reply).ok());
    CHECK(reply == "1");
    REQUIRE(rig.backend->waitForCommit(1));
    rig.render(512);

    REQUIRE(applyLine(e, "/patch/dump", {}, &reply).ok());
    CHECK_THAT(reply, Catch::Contains("/patch/create f1 biquad_filter"));
    CHECK_THAT(reply, Catch::Contains("/mod/osc1/freq 330"));
    CHECK_THAT(reply, Catch::Contains("/mod/f1/mode hp")); // a choice by name
    REQUIRE(applyLine(e, "/engine/status", {}, &reply).ok());
    CHECK_THAT(reply, Catch::Contains("active_seq 1\n"));
    CHECK_THAT(reply, Catch::Contains("sample_position 512\n"));
    CHECK(applyLine(e, "/engine/quit", {}).ok());
    // The interpreter has no IR: a clear error.
    Status ir = applyLine(e, "/patch/ir", {});
    REQUIRE_FALSE(ir.ok());
    CHECK_THAT(ir.message(), Catch::Contains("interp"));
}

TEST_CASE("/patch/ir replies with the playing program's IR (JIT)", "[engine][control]") {
    OfflineRig rig({.factory = defaultFactory()});
    std::string reply;
    CHECK_FALSE(applyLine(*rig.engine, "/patch/ir", {}, &reply).ok()); // nothing committed
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    Status s = applyLine(*rig.engine, "/patch/ir", {}, &reply);
    INFO((s.ok() ? std::string() : s.message()));
    REQUIRE(s.ok());
    CHECK_THAT(reply, Catch::Contains("define"));
}

TEST_CASE("bad edits and writes are refused and change nothing", "[engine][control][errors]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    Engine& e = *rig.engine;
    const std::string before = e.dump();
    CHECK_THAT(e.create("osc1", "simple_sine").message(), Catch::Contains("already exists"));
    CHECK_THAT(e.create("x", "wobble").message(), Catch::Contains("unknown module type"));
    CHECK_THAT(e.connect("osc1", "nope").message(), Catch::Contains("unknown module id 'nope'"));
    CHECK_THAT(e.setParam("osc1", "freq", std::nanf("")).message(), Catch::Contains("finite"));
    CHECK_THAT(e.setParam("osc1", "gain", 2).message(), Catch::Contains("outside"));
    CHECK_THAT(e.setParam("ghost", "gain", 0.1f).message(),
               Catch::Contains("unknown module id 'ghost'"));
    CHECK_THAT(e.gate("osc1", 1).message(), Catch::Contains("no parameter 'gate'"));
    CHECK_THAT(e.setParamChoice("osc1", "freq", "hp").message(), Catch::Contains("takes a number"));
    CHECK(e.dump() == before);
    REQUIRE(rig.commit().ok);
    CHECK(e.dump() == before);
}

TEST_CASE("abort drops pending edits, a write reaches a module deleted only in pending",
          "[engine][control]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    Engine& e = *rig.engine;
    REQUIRE(e.create("osc2", "simple_sine").ok());
    REQUIRE(e.remove("osc1").ok());
    // osc1 is gone from the pending patch but still plays: a write still reaches it.
    REQUIRE(e.setParam("osc1", "freq", 550).ok());
    e.abort();
    REQUIRE(rig.commit().ok);
    const std::string dump = e.dump();
    CHECK_THAT(dump, !Catch::Contains("osc2"));
    CHECK_THAT(dump, Catch::Contains("/mod/osc1/freq 550"));
}

TEST_CASE("commits queued back to back are reported once each, in order", "[engine][control]") {
    OfflineRig rig;
    REQUIRE(rig.engine->create("osc1", "simple_sine").ok());
    std::vector<uint64_t> order;
    std::mutex m;
    uint64_t last = 0;
    for (int i = 0; i < 5; ++i) {
        last = rig.engine->commit([&](const CommitReport& r) {
            std::lock_guard lock(m);
            order.push_back(r.seq);
        });
        REQUIRE(rig.engine->setParam("osc1", "freq", 100.0f * float(i + 1)).ok());
    }
    REQUIRE(rig.backend->waitForCommit(last));
    CHECK(order == std::vector<uint64_t>{1, 2, 3, 4, 5});
    CHECK(rig.engine->status().activeSeq == 5);
    CHECK_THAT(rig.engine->dump(), Catch::Contains("/mod/osc1/freq 500"));
}

TEST_CASE("queued commits are reported when the engine stops", "[engine][control]") {
    std::vector<CommitReport> reports;
    {
        EngineOptions o;
        o.factory = interpreterFactory();
        o.primeTimeoutMs = 20;
        auto e = Engine::create(o);
        REQUIRE(e.ok());
        REQUIRE((*e)->create("osc1", "simple_sine").ok());
        for (int i = 0; i < 3; ++i)
            (*e)->commit([&](const CommitReport& r) { reports.push_back(r); });
    } // no audio ran: the first times out, the rest are reported as never run (or time out too)
    REQUIRE(reports.size() == 3);
    for (const auto& r : reports) CHECK_FALSE(r.ok);
}
