// The engine's queries for clients: readParam (OSC read-back) gives what a later dump writes,
// through every way a value changes (a set, a choice by name, a timed write once it played, a
// module deleted and made again, a commit, an abort), and listPatch gives the playing or the
// pending structure. Both change nothing.
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

float valueOf(Engine& e, const std::string& id, const std::string& param) {
    auto r = e.readParam(id, param);
    INFO(id << ":" << param << ": " << (r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return r->value;
}

} // namespace

TEST_CASE("readParam follows every write and the patch's structure", "[engine][readback]") {
    OfflineRig rig;
    Engine& e = *rig.engine;
    REQUIRE(e.create("osc1", "saw").ok());
    REQUIRE(e.create("f1", "biquad_filter").ok());
    CHECK(valueOf(e, "osc1", "freq") == 220); // the default, before any commit
    REQUIRE(e.setParam("osc1", "freq", 330).ok());
    CHECK(valueOf(e, "osc1", "freq") == 330);
    REQUIRE(e.setParamChoice("f1", "mode", "HP").ok());
    auto mode = e.readParam("f1", "mode");
    REQUIRE(mode.ok());
    CHECK(mode->value == 1);
    CHECK(mode->choice == "hp");
    CHECK(e.readParam("osc1", "freq")->choice.empty());

    rig.commit();
    CHECK(valueOf(e, "osc1", "freq") == 330);
    CHECK_THAT(e.dump(), Catch::Contains("/mod/osc1/freq 330"));

    // A timed write is in it once it played, not before.
    const uint64_t at = e.status().samplePosition + rig.frames() * 4;
    REQUIRE(e.setParamAt(at, "osc1", "freq", 440).ok());
    CHECK(valueOf(e, "osc1", "freq") == 330);
    rig.render(rig.frames() * 8);
    CHECK(valueOf(e, "osc1", "freq") == 440);

    // Deleted and made again in the pending patch: its defaults, as a later commit plays.
    REQUIRE(e.remove("osc1").ok());
    REQUIRE(e.create("osc1", "saw").ok());
    CHECK(valueOf(e, "osc1", "freq") == 220);
    e.abort(); // back to what plays
    CHECK(valueOf(e, "osc1", "freq") == 440);

    // Refused in a set's words; nothing changed.
    auto typo = e.readParam("osc1", "frq");
    REQUIRE_FALSE(typo.ok());
    CHECK(typo.error().message == e.setParam("osc1", "frq", 1).message());
    CHECK_THAT(typo.error().message, Catch::Contains("did you mean 'freq'"));
    auto nobody = e.readParam("osc9", "freq");
    REQUIRE_FALSE(nobody.ok());
    CHECK(nobody.error().message == e.setParam("osc9", "freq", 1).message());
    CHECK(valueOf(e, "osc1", "freq") == 440);
}

TEST_CASE("listPatch gives the playing or the pending structure", "[engine][readback]") {
    OfflineRig rig;
    Engine& e = *rig.engine;
    REQUIRE(e.create("osc1", "saw").ok());
    REQUIRE(e.create("d1", "delay", 300.0f).ok());
    REQUIRE(e.create("f1", "biquad_filter").ok());
    REQUIRE(e.connect("osc1", "d1").ok());
    REQUIRE(e.connect("d1:wet", "f1:cutoff").ok());
    CHECK(e.listPatch(ListedPatch::playing).modules.empty());
    const PatchListing pending = e.listPatch(ListedPatch::pending);
    REQUIRE(pending.modules.size() == 3);
    CHECK(pending.modules[0].id == "osc1");
    CHECK(pending.modules[0].type == "saw");
    CHECK_FALSE(pending.modules[0].createArg);
    CHECK(pending.modules[1].createArg == 300.0f);
    REQUIRE(pending.connections.size() == 2);
    CHECK(pending.connections[0].src == "osc1:out");
    CHECK(pending.connections[0].dst == "d1:in");
    CHECK(pending.connections[1].src == "d1:wet");
    CHECK(pending.connections[1].dst == "f1:cutoff");

    rig.commit();
    REQUIRE(e.remove("f1").ok());
    CHECK(e.listPatch(ListedPatch::playing).modules.size() == 3);
    CHECK(e.listPatch(ListedPatch::pending).modules.size() == 2);
    CHECK(e.listPatch(ListedPatch::pending).connections.size() == 1);
}
