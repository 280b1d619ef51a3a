// Big graphs scale: a long chain is cut into fusion groups of at most FusionPlan::kMaxGroupNodes
// nodes (never inside a feedback stage), so compile time and memory grow linearly with it and a
// repeating chain compiles a handful of shapes; the cut changes no bit of the output.
#include "compiler/interpreter.h"
#include "compiler/jit/fusion.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <string>

using namespace chronus;

namespace {

/// saw -> (gain -> biquad) x pairs: 1 + 2 * pairs modules in one plain chain.
PatchGraph longChain(int pairs) {
    PatchGraph g;
    REQUIRE(g.create("src", "saw").ok());
    std::string last = "src";
    for (int k = 0; k < pairs; ++k) {
        const std::string amp = "g" + std::to_string(k), filt = "f" + std::to_string(k);
        REQUIRE(g.create(amp, "gain").ok());
        REQUIRE(g.setParam(amp, "level", 1.0f + 0.001f * float(k % 5)).ok());
        REQUIRE(g.create(filt, "biquad_filter").ok());
        REQUIRE(g.setParam(filt, "cutoff", 3000.0f + float(k % 7) * 100.0f).ok());
        REQUIRE(g.connect(last, amp).ok());
        REQUIRE(g.connect(amp, filt).ok());
        last = filt;
    }
    return g;
}

bool sameAsInterpreter(const Schedule& s, int level, bool quick) {
    auto interp = makeInterpreter(s);
    JitOptions o;
    o.optLevel = level;
    o.quickFirst = quick;
    o.keepIr = false;
    auto jit = compileJit(s, o);
    REQUIRE(jit.ok());
    const std::vector<uint32_t> chunks = {64, 7, 300};
    auto a = test::renderProgram(*interp, 2400, chunks, -1, 0);
    auto b = test::renderProgram(**jit, 2400, chunks, -1, 0);
    CHECK(test::rms(a) > 1e-3);
    return a == b;
}

} // namespace

TEST_CASE("a long chain is cut into bounded groups that repeat one shape", "[jit][fusion][chain]") {
    auto s = buildSchedule(longChain(500)); // 1,001 modules
    REQUIRE(s.ok());
    const jit::FusionPlan plan = jit::planFusion(*s);
    size_t nodes = 0;
    for (const jit::FusionGroup& g : plan.groups) {
        CHECK(g.nodes.size() <= jit::FusionPlan::kMaxGroupNodes);
        nodes += g.nodes.size();
    }
    CHECK(nodes == s->nodes.size());
    CHECK(plan.groups.size() >= s->nodes.size() / jit::FusionPlan::kMaxGroupNodes);
    // The first group holds the source, the last the rest; every one between is the same shape.
    CHECK(plan.shapes.size() <= 3);
    CHECK(sameAsInterpreter(*s, 1, false));
    CHECK(sameAsInterpreter(*s, 2, true));
}

TEST_CASE("a feedback stage longer than the bound stays one group", "[jit][fusion][chain]") {
    // z1 -> 60 gains -> z1: one loop, one stage, run sample by sample as a whole.
    PatchGraph g;
    REQUIRE(g.create("kick", "saw").ok());
    REQUIRE(g.create("late", "z1").ok());
    std::string last = "late";
    for (int k = 0; k < 60; ++k) {
        const std::string amp = "g" + std::to_string(k);
        REQUIRE(g.create(amp, "gain").ok());
        REQUIRE(g.setParam(amp, "level", k == 0 ? 0.5f : 1.0f).ok());
        REQUIRE(g.connect(last, amp).ok());
        last = amp;
    }
    REQUIRE(g.connect("kick", "g0").ok());
    REQUIRE(g.connect(last, "late").ok());
    REQUIRE(g.create("out", "gain").ok());
    REQUIRE(g.connect(last, "out").ok());
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    const jit::FusionPlan plan = jit::planFusion(*s);
    size_t biggest = 0;
    for (const jit::FusionGroup& group : plan.groups)
        biggest = std::max(biggest, group.nodes.size());
    CHECK(biggest >= 61);
    CHECK(sameAsInterpreter(*s, 1, false));
    CHECK(sameAsInterpreter(*s, 2, true));
}
