#include "compiler/patch_graph.h"
#include "compiler/schedule.h"

#include <catch2/catch.hpp>

using namespace chronus;

namespace {
std::string errorOf(const Status& s) {
    return s.ok() ? std::string("(ok)") : s.message();
}
} // namespace

TEST_CASE("edits that are valid build the graph", "[graph]") {
    PatchGraph g;
    REQUIRE(g.create("osc1", "simple_sine").ok());
    REQUIRE(g.create("amp", "vca").ok());
    REQUIRE(g.connect("osc1", "amp").ok());
    REQUIRE(g.setParam("osc1", "freq", 220).ok());
    CHECK(g.modules().size() == 2);
    CHECK(g.connections().size() == 1);
    CHECK(g.find("amp")->desc->type == "gain");
    CHECK(g.find("osc1")->params[0] == 220);
}

TEST_CASE("every bad edit fails with its reason and changes nothing", "[graph][errors]") {
    PatchGraph g;
    REQUIRE(g.create("osc1", "simple_sine").ok());
    REQUIRE(g.create("amp", "gain").ok());
    const std::string before = g.toPatchText();

    CHECK_THAT(errorOf(g.create("x", "wobble")), Catch::Contains("unknown module type 'wobble'"));
    CHECK_THAT(errorOf(g.create("osc1", "gain")), Catch::Contains("'osc1' already exists"));
    CHECK_THAT(errorOf(g.create("bad id", "gain")), Catch::Contains("character ' '"));
    CHECK_THAT(errorOf(g.create("", "gain")), Catch::Contains("empty"));
    CHECK_THAT(errorOf(g.create("g2", "gain", 3.0f)),
               Catch::Contains("takes no creation argument"));
    CHECK_THAT(errorOf(g.connect("nope", "amp")), Catch::Contains("unknown module id 'nope'"));
    CHECK_THAT(errorOf(g.connect("osc1", "amp:wobble")),
               Catch::Contains("no input or parameter 'wobble'"));
    CHECK_THAT(errorOf(g.connect("osc1:freq", "amp")),
               Catch::Contains("is a parameter, not an output"));
    CHECK_THAT(errorOf(g.connect("amp", "osc1")), Catch::Contains("has no audio input"));
    CHECK_THAT(errorOf(g.connect("osc1", "amp:out")),
               Catch::Contains("cannot connect to an output"));
    CHECK_THAT(errorOf(g.setParam("osc1", "wobble", 1)), Catch::Contains("no parameter 'wobble'"));
    CHECK_THAT(errorOf(g.setParam("osc1", "freq", std::nanf(""))),
               Catch::Contains("must be finite"));
    CHECK_THAT(errorOf(g.setParam("osc1", "gain", 7)), Catch::Contains("outside"));
    CHECK_THAT(errorOf(g.remove("ghost")), Catch::Contains("unknown module id 'ghost'"));
    CHECK_THAT(errorOf(g.disconnect("osc1", "amp")), Catch::Contains("not connected"));
    CHECK(g.toPatchText() == before);
}

TEST_CASE("a loop without a one-sample delay is refused", "[graph][errors]") {
    PatchGraph g;
    REQUIRE(g.create("a", "gain").ok());
    REQUIRE(g.create("b", "gain").ok());
    REQUIRE(g.connect("a", "b").ok());
    Status s = g.connect("b", "a");
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.message(), Catch::Contains("a -> b -> a") || Catch::Contains("b -> a -> b"));
    CHECK_THAT(s.message(), Catch::Contains("z1"));
    CHECK(g.connections().size() == 1);
    CHECK_FALSE(g.connect("a", "a").ok());
}

TEST_CASE("duplicate connections and deletes", "[graph]") {
    PatchGraph g;
    REQUIRE(g.create("osc1", "sine").ok());
    REQUIRE(g.create("amp", "gain").ok());
    REQUIRE(g.connect("osc1", "amp:in").ok());
    CHECK_THAT(errorOf(g.connect("osc1:out", "amp")), Catch::Contains("already connected"));
    REQUIRE(g.remove("osc1").ok());
    CHECK(g.connections().empty());
}

TEST_CASE("patch text round-trips", "[graph]") {
    PatchGraph g;
    REQUIRE(g.create("osc1", "simple_sine").ok());
    REQUIRE(g.create("amp", "gain").ok());
    REQUIRE(g.setParam("osc1", "freq", 330.5f).ok());
    REQUIRE(g.connect("osc1", "amp").ok());
    CHECK(g.toPatchText() == "/patch/create osc1 simple_sine\n/patch/create amp gain\n"
                             "/mod/osc1/freq 330.5\n/patch/connect osc1:out amp:in\n"
                             "/patch/commit\n");
}

TEST_CASE("the schedule orders, lays out and taps the output", "[schedule]") {
    PatchGraph g;
    REQUIRE(g.create("amp", "gain").ok());
    REQUIRE(g.create("osc1", "simple_sine").ok());
    REQUIRE(g.connect("osc1", "amp").ok());
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    REQUIRE(s->nodes.size() == 2);
    CHECK(s->nodes[0].id == "osc1"); // sources before sinks, whatever the creation order
    CHECK(s->nodes[1].id == "amp");
    REQUIRE(s->outputTaps.size() == 1);
    CHECK(s->nodes[s->outputTaps[0].node].id == "amp");
    CHECK(s->paramCount == 3);
    CHECK(s->nodes[1].stateOffset % 16 == 0);
    CHECK(s->nodes[1].kernelStateOffset % 16 == 0);
}
