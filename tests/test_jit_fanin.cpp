// Fan-in is data, not code: how many sources feed an input is in no shape key and no generated
// function. A slot's leading sources from other groups come summed in one block buffer, added up
// by the render plan in source order, so the JIT still computes the interpreter's sum bit for bit
// ((s0 + s1) + s2 ...), and a mixer fed by 2 or 2,000 voices runs the same cached code.
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

/// Optimisation level meaning the quick first tier of a tiered O2 compile.
constexpr int kQuickTier = -1;

const std::vector<uint32_t> kChunks = {1, 7, 256, 300, 64, 3, 511, 128};

/// `n` voices (sine -> gain) summed into `master` (a gain), each voice its own frequency and
/// level: the sum's order shows in the low bits.
PatchGraph voicesInto(int n, const char* masterType = "gain") {
    PatchGraph g;
    REQUIRE(g.create("master", masterType).ok());
    for (int v = 0; v < n; ++v) {
        const std::string osc = "o" + std::to_string(v), amp = "a" + std::to_string(v);
        REQUIRE(g.create(osc, "simple_sine").ok());
        REQUIRE(g.setParam(osc, "freq", 55.0f + 13.7f * float(v % 300)).ok());
        REQUIRE(g.create(amp, "gain").ok());
        REQUIRE(g.setParam(amp, "level", 0.3f + 0.0007f * float(v)).ok());
        REQUIRE(g.connect(osc, amp).ok());
        REQUIRE(g.connect(amp, "master").ok());
    }
    return g;
}

/// The JIT at `level` (or the quick tier) against the interpreter; returns whether every sample
/// is the same, and checks the output is not silent.
bool sameAsInterpreter(const Schedule& s, int level, uint32_t frames, JitTimings* timings = nullptr,
                       int64_t change = -1, float value = 0) {
    auto interp = makeInterpreter(s);
    JitOptions o;
    o.optLevel = level == kQuickTier ? 2 : level;
    o.quickFirst = level == kQuickTier;
    o.keepIr = false;
    auto jit = compileJit(s, o);
    REQUIRE(jit.ok());
    if (timings != nullptr) *timings = (*jit)->timings();
    auto a = test::renderProgram(*interp, frames, kChunks, change, value);
    auto b = test::renderProgram(**jit, frames, kChunks, change, value);
    CHECK(test::rms(a) > 1e-3);
    size_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i] ? 1 : 0;
    INFO(differ << " of " << a.size() << " samples differ");
    return differ == 0;
}

const jit::FusionGroup& groupOfNode(const jit::FusionPlan& plan, uint32_t node) {
    for (const jit::FusionGroup& g : plan.groups)
        if (std::find(g.nodes.begin(), g.nodes.end(), node) != g.nodes.end()) return g;
    FAIL("node " << node << " is in no group");
    return plan.groups[0];
}

uint32_t nodeIndex(const Schedule& s, const std::string& id) {
    return static_cast<uint32_t>(s.find(id) - s.nodes.data());
}

} // namespace

TEST_CASE("1, 2, 256 and 2,000 voices into one input agree with the interpreter bit for bit",
          "[jit][fanin][differential]") {
    for (int voices : {1, 2, 3, 256, 2000}) {
        auto s = buildSchedule(voicesInto(voices));
        REQUIRE(s.ok());
        const uint32_t frames = voices >= 2000 ? 1200 : 4800;
        for (int level : {kQuickTier, 0, 1, 2}) {
            if (voices >= 2000 && level == 1) continue; // the same code as O2, a debug build's time
            INFO(voices << " voices, O" << level);
            JitTimings t;
            CHECK(sameAsInterpreter(*s, level, frames, &t));
            if (voices >= 2) CHECK(t.shapes == 2); // the voice and the master, however many
        }
    }
}

TEST_CASE("the summing input's shape does not depend on how many sources it sums", "[jit][fanin]") {
    std::string masterKey;
    for (int voices : {2, 3, 17, 256, 2000}) {
        auto s = buildSchedule(voicesInto(voices));
        REQUIRE(s.ok());
        jit::FusionPlan plan = jit::planFusion(*s);
        const jit::FusionGroup& master = groupOfNode(plan, nodeIndex(*s, "master"));
        REQUIRE(master.inputs.size() == 1);
        CHECK(master.inputs[0].signals.size() == size_t(voices));
        REQUIRE(master.summed.size() == 1);
        const std::string& key = plan.shapes[master.shape].key;
        if (masterKey.empty()) masterKey = key;
        CHECK(key == masterKey);
        CHECK(key.find("x1") == std::string::npos); // one input, never one per source
    }
}

TEST_CASE("a voice added to or removed from a mix of known shapes compiles nothing",
          "[jit][fanin][cache]") {
    trimShapeCache();
    JitOptions o;
    o.optLevel = 1;
    o.keepIr = false;
    auto compile = [&](int voices) {
        auto s = buildSchedule(voicesInto(voices));
        REQUIRE(s.ok());
        auto p = compileJit(*s, o);
        REQUIRE(p.ok());
        return (*p)->timings();
    };
    // Enough voices for a wide batch in every case, so no narrow shape comes in between.
    auto first = compile(40);
    CHECK(first.shapesCompiled >= 1);
    for (int voices : {41, 39, 64, 40}) {
        INFO(voices << " voices");
        auto t = compile(voices);
        CHECK(t.shapesCompiled == 0);
        CHECK(t.shapesReused == t.shapes);
    }
}

TEST_CASE("many modulators summed into one parameter agree bit for bit", "[jit][fanin]") {
    // 256 LFOs into one filter's cutoff (a parameter slot: base + sum, then the clamp), and two
    // more sources into its audio input.
    PatchGraph g;
    REQUIRE(g.create("src", "saw").ok());
    REQUIRE(g.create("src2", "square").ok());
    REQUIRE(g.create("filt", "biquad_filter").ok());
    REQUIRE(g.setParam("filt", "cutoff", 800).ok());
    REQUIRE(g.connect("src", "filt").ok());
    REQUIRE(g.connect("src2", "filt").ok());
    for (int k = 0; k < 256; ++k) {
        const std::string id = "lfo" + std::to_string(k);
        REQUIRE(g.create(id, "lfo").ok());
        REQUIRE(g.setParam(id, "freq", 0.5f + 0.37f * float(k)).ok());
        REQUIRE(g.setParam(id, "depth", 3.0f + float(k % 7)).ok());
        REQUIRE(g.connect(id, "filt:cutoff").ok());
    }
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    const jit::FusionPlan plan = jit::planFusion(*s);
    const jit::FusionGroup& filt = groupOfNode(plan, nodeIndex(*s, "filt"));
    CHECK(filt.summed.size() == 2); // the audio input and the cutoff
    // Halfway, the cutoff's target moves: the smoother runs while the sum is added.
    const auto cutoff = static_cast<int64_t>(s->find("filt")->paramIndex);
    for (int level : {kQuickTier, 1, 2}) {
        INFO("O" << level);
        CHECK(sameAsInterpreter(*s, level, 4800, nullptr, cutoff, 3000));
    }
}

TEST_CASE("summed inputs inside feedback loops keep the interpreter's order",
          "[jit][fanin][feedback]") {
    // A feedback stage (gain <-> z1) whose input sums voices from outside with the loop's own
    // signal: external sources first (summed in one buffer, then the loop added in code), the
    // loop first (every external source then added in code, in order), and the loop in between.
    for (int order : {0, 1, 2}) {
        PatchGraph g;
        REQUIRE(g.create("loop", "gain").ok());
        REQUIRE(g.setParam("loop", "level", 0.5f).ok());
        REQUIRE(g.create("late", "z1").ok());
        REQUIRE(g.connect("loop", "late").ok());
        const int voices = 12;
        for (int v = 0; v < voices; ++v) {
            if ((order == 1 && v == 0) || (order == 2 && v == voices / 2))
                REQUIRE(g.connect("late", "loop").ok());
            const std::string id = "o" + std::to_string(v);
            REQUIRE(g.create(id, "simple_sine").ok());
            REQUIRE(g.setParam(id, "freq", 100.0f + 31.0f * float(v)).ok());
            REQUIRE(g.connect(id, "loop").ok());
        }
        if (order == 0) REQUIRE(g.connect("late", "loop").ok());
        // A mixer in a delay loop too: its voices' input summed, the echo into its other input.
        REQUIRE(g.create("mix", "mix", 2.0f).ok());
        REQUIRE(g.create("echo", "delay", 50.0f).ok());
        REQUIRE(g.setParam("echo", "time", 7).ok());
        REQUIRE(g.setParam("echo", "feedback", 0.4f).ok());
        REQUIRE(g.connect("loop", "mix:in1").ok());
        for (int v = 0; v < voices; ++v)
            REQUIRE(g.connect("o" + std::to_string(v), "mix:in1").ok());
        REQUIRE(g.connect("mix", "echo").ok());
        REQUIRE(g.connect("echo:wet", "mix:in2").ok());
        REQUIRE(g.create("out", "gain").ok()); // unconnected: the output tap
        REQUIRE(g.connect("echo", "out").ok());
        REQUIRE(g.connect("loop", "out").ok());
        auto s = buildSchedule(g);
        REQUIRE(s.ok());
        const jit::FusionPlan plan = jit::planFusion(*s);
        const jit::FusionGroup& loop = groupOfNode(plan, nodeIndex(*s, "loop"));
        CHECK(loop.summed.size() == (order == 1 ? 0u : 1u));
        for (int level : {kQuickTier, 0, 2}) {
            INFO("loop connected at " << order << ", O" << level);
            CHECK(sameAsInterpreter(*s, level, 4800));
        }
    }
}

TEST_CASE("the render plan says where it sums", "[jit][fanin][ir]") {
    auto s = buildSchedule(voicesInto(300));
    REQUIRE(s.ok());
    auto p = compileJit(*s);
    REQUIRE(p.ok());
    auto text = (*p)->ir("lowered");
    REQUIRE(text.ok());
    CHECK(text->find("sum 300 signals into input 0") != std::string::npos);
}
