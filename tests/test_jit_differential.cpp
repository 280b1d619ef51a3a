// The JIT against the interpreter, sample by sample: a few hundred random valid graphs
// (bench/random_patch.h), including parameter modulation and feedback through delayed outputs,
// rendered in irregular block sizes with a parameter change mid-way. The example patches:
// test_examples.cpp; every module type alone: test_module_jit.cpp.
//
// Tolerance: max |jit - interp| <= 1e-6 * max(RMS(interp), 1e-3) over the render, and the same
// samples non-finite in both. Both engines run the same kernels in the same order with the same
// float operations, both with flush-to-zero (as in the audio callback), and the kernel bitcode is
// built without FP contraction (CHRONUS_KERNEL_FP_CONTRACT=off) because the native build targets
// baseline x86-64 (no FMA) while the JIT targets this CPU: so the outputs are expected to be
// bit-identical, and the test also counts bit-exact graphs. The small tolerance leaves room for
// legitimate rounding differences only. With contraction on, FMA makes oscillator phases drift by
// ~1e-4 relative over 0.1 s and chaotic feedback patches diverge completely, so no meaningful
// tolerance would hold.
#include "bench/random_patch.h"
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/param_block.h"
#include "compiler/patch_graph.h"
#include "runtime/denormals.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <functional>
#include <optional>

using namespace chronus;

namespace {

constexpr double kTolerance = 1e-6;

struct Diff {
    double maxAbs = 0;
    double scale = 0;
    size_t mismatchedNonFinite = 0;
    size_t firstBad = 0;
    bool ok() const { return mismatchedNonFinite == 0 && maxAbs <= kTolerance * scale; }
};

Diff compare(const std::vector<float>& ref, const std::vector<float>& got) {
    Diff d;
    double acc = 0;
    size_t finite = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        bool a = std::isfinite(ref[i]), b = std::isfinite(got[i]);
        if (a != b) {
            if (d.mismatchedNonFinite++ == 0) d.firstBad = i;
            continue;
        }
        if (!a) continue;
        acc += double(ref[i]) * ref[i];
        ++finite;
        double diff = std::fabs(double(ref[i]) - got[i]);
        if (diff > d.maxAbs) {
            d.maxAbs = diff;
            if (diff > 0) d.firstBad = i;
        }
    }
    d.scale = std::max(finite ? std::sqrt(acc / double(finite)) : 0.0, 1e-3);
    return d;
}

using test::renderProgram;

struct Outcome {
    Diff diff;
    bool bitExact = false;
    uint32_t groups = 0, shapes = 0, wideGroups = 0;
};

/// Optimisation level of differential() meaning the quick first tier of a tiered compile.
constexpr int kQuickTier = -1;

/// Renders `schedule` through the interpreter and the JIT (`lanes` as JitOptions::lanes) and
/// compares them; halfway, one random parameter changes. `optLevel` kQuickTier: the first tier of
/// a tiered O2 compile, made now (idle shapes are evicted first).
Outcome differential(const Schedule& schedule, int optLevel, uint32_t frames, std::mt19937& rng,
                     uint32_t lanes = 0) {
    static const std::vector<uint32_t> chunks = {1, 7, 256, 300, 64, 3, 511, 128};
    auto interp = makeInterpreter(schedule);
    JitOptions jo;
    jo.optLevel = optLevel;
    jo.keepIr = false;
    jo.lanes = lanes;
    if (optLevel == kQuickTier) {
        trimShapeCache();
        jo.optLevel = 2;
        jo.quickFirst = true;
    }
    auto jit = compileJit(schedule, jo);
    REQUIRE(jit.ok());
    if (optLevel == kQuickTier) REQUIRE_FALSE((*jit)->finalTier());
    int64_t change = -1;
    float value = 0;
    if (schedule.paramCount > 0) {
        change = std::uniform_int_distribution<int64_t>(0, schedule.paramCount - 1)(rng);
        for (const auto& n : schedule.nodes)
            if (change >= n.paramIndex && change < n.paramIndex + n.paramCount())
                value = test::detail::paramValue(
                    rng, n.layout->params[size_t(change - n.paramIndex)].desc);
    }
    auto a = renderProgram(*interp, frames, chunks, change, value);
    auto b = renderProgram(**jit, frames, chunks, change, value);
    return {compare(a, b), a == b, (*jit)->timings().groups, (*jit)->timings().shapes,
            (*jit)->timings().wideGroups};
}

} // namespace

TEST_CASE("random graphs sound the same through the JIT and the interpreter",
          "[jit][differential]") {
    std::mt19937 rng(20240611);
    const int kGraphs = test::randomGraphCount(300);
    int bitExact = 0, withFeedback = 0, withModulation = 0, compared = 0, multiGroup = 0,
        sharedShape = 0;
    double worst = 0;
    for (int i = 0; i < kGraphs; ++i) {
        auto patch = test::randomPatch(rng);
        auto schedule = buildSchedule(patch.graph);
        INFO("graph " << i << ":\n" << patch.text);
        REQUIRE(schedule.ok());
        for (const Stage& st : schedule->stages) withFeedback += st.feedback ? 1 : 0;
        for (const Connection& c : patch.graph.connections())
            if (c.dstSlot >= patch.graph.find(c.dst)->layout->inputs.size()) {
                ++withModulation;
                break;
            }
        // O2 for every tenth graph (what the engine uses), O1 for the rest (faster to compile in
        // a debug build; same IR semantics), O0 now and then.
        int level = i % 10 == 0 ? 2 : (i % 10 == 5 ? 0 : 1);
        Outcome o = differential(*schedule, level, 4800, rng);
        INFO("O" << level << ": max diff " << o.diff.maxAbs << " at sample " << o.diff.firstBad
                 << ", rms " << o.diff.scale << ", non-finite mismatches "
                 << o.diff.mismatchedNonFinite);
        CHECK(o.diff.ok());
        bitExact += o.bitExact ? 1 : 0;
        multiGroup += o.groups > 1 ? 1 : 0;
        sharedShape += o.groups > o.shapes ? 1 : 0;
        worst = std::max(worst, o.diff.maxAbs / o.diff.scale);
        ++compared;
    }
    WARN(compared << " random graphs: " << bitExact << " bit-exact, " << withFeedback
                  << " feedback stages, " << withModulation << " with modulation, " << multiGroup
                  << " with several fusion groups, " << sharedShape
                  << " with a shape used twice; worst relative diff " << worst);
    CHECK(bitExact >= compared * 9 / 10);
    CHECK(withFeedback > 10 * kGraphs / 300);
    CHECK(withModulation > 50 * kGraphs / 300);
    CHECK(multiGroup > 50 * kGraphs / 300);
}

TEST_CASE("voices around a shared LFO, a summing mixer and a feedback delay fuse and agree",
          "[jit][differential][fusion]") {
    PatchGraph g;
    const int voices = 6;
    REQUIRE(g.create("lfo", "lfo").ok());
    REQUIRE(g.setParam("lfo", "freq", 3).ok());
    REQUIRE(g.create("mix", "mix", float(voices + 1)).ok());
    REQUIRE(g.create("echo", "delay", 500.0f).ok());
    REQUIRE(g.setParam("echo", "time", 3.5f).ok()); // short: the loop closes many times
    REQUIRE(g.setParam("echo", "feedback", 0.6f).ok());
    REQUIRE(g.create("master", "gain").ok());
    for (int v = 0; v < voices; ++v) {
        auto id = [&](const char* what) { return std::string(what) + std::to_string(v); };
        REQUIRE(g.create(id("osc"), "simple_sine").ok());
        REQUIRE(g.create(id("env"), "adsr").ok());
        REQUIRE(g.create(id("filt"), "biquad_filter").ok());
        REQUIRE(g.setParam(id("osc"), "freq", 100.0f * float(v + 1)).ok());
        REQUIRE(g.setParam(id("env"), "gate", 1).ok());
        REQUIRE(g.connect(id("osc"), id("env")).ok());
        REQUIRE(g.connect(id("env"), id("filt")).ok());
        REQUIRE(g.connect("lfo", id("filt") + ":cutoff").ok());
        REQUIRE(g.connect(id("filt"), "mix:in" + std::to_string(v + 1)).ok());
    }
    REQUIRE(g.connect("mix", "echo").ok());
    REQUIRE(g.connect("echo:wet", "mix:in" + std::to_string(voices + 1)).ok());
    REQUIRE(g.connect("echo", "master").ok());
    auto s = buildSchedule(g);
    REQUIRE(s.ok());

    auto jit = compileJit(*s);
    REQUIRE(jit.ok());
    // The LFO alone (it feeds every voice), one group per voice (one shape, compiled once and
    // called in a loop), and the mixer with the delay loop and the master gain.
    CHECK((*jit)->timings().groups == voices + 2);
    CHECK((*jit)->timings().shapes == 3);
    std::mt19937 rng(7);
    for (int level : {0, 2}) {
        Outcome o = differential(*s, level, 9600, rng);
        INFO("O" << level << ": max diff " << o.diff.maxAbs << ", rms " << o.diff.scale);
        CHECK(o.diff.ok());
        CHECK(o.bitExact);
        CHECK(o.diff.scale > 1e-3);
    }
}

TEST_CASE("state carries over between the interpreter and the JIT", "[jit][differential]") {
    // The runtime swaps programs of either engine on one state layout: rendering the first half
    // with one engine and the rest with the other must match one engine throughout.
    PatchGraph g;
    REQUIRE(g.create("osc", "simple_sine").ok());
    REQUIRE(g.create("env", "adsr").ok());
    REQUIRE(g.create("filt", "biquad_filter").ok());
    REQUIRE(g.create("echo", "delay", 100.0f).ok());
    REQUIRE(g.connect("osc", "env").ok());
    REQUIRE(g.connect("env", "filt").ok());
    REQUIRE(g.connect("filt", "echo").ok());
    REQUIRE(g.setParam("env", "gate", 1).ok());
    REQUIRE(g.setParam("echo", "time", 20).ok());
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    auto interp = makeInterpreter(*s);
    auto jit = compileJit(*s);
    REQUIRE(jit.ok());
    ParamBlock params(s->paramCount);
    initParams(*s, params);
    auto run = [&](Program& first, Program& second) {
        StateBuffer state(s->stateBytes);
        initState(*s, state.data());
        ScopedFlushDenormals ftz;
        std::vector<float> out(9600);
        first.render(params.data(), state.data(), out.data(), 4800);
        second.render(params.data(), state.data(), out.data() + 4800, 4800);
        return out;
    };
    auto reference = run(*interp, *interp);
    CHECK(run(*interp, **jit) == reference);
    CHECK(run(**jit, *interp) == reference);
    CHECK(test::rms(reference) > 1e-3);
}

namespace {

/// `copies` copies of `g` (ids prefixed v<k>_), each with its own parameter values (random where
/// `vary`), so that every group shape of `g` has `copies` instances.
PatchGraph replicate(const PatchGraph& g, int copies, std::mt19937& rng, bool vary) {
    PatchGraph out;
    for (int k = 0; k < copies; ++k) {
        const std::string prefix = "v" + std::to_string(k) + "_";
        for (const Module& m : g.modules()) {
            std::optional<float> arg;
            if (!m.desc->createArg.name.empty()) arg = m.createArg;
            REQUIRE(out.create(prefix + m.id, m.desc->type, arg).ok());
            for (size_t p = 0; p < m.params.size(); ++p) {
                const ParamDesc& d = m.layout->params[p].desc;
                float v = vary && k > 0 && test::detail::chance(rng, 0.5)
                              ? test::detail::paramValue(rng, d)
                              : m.params[p];
                REQUIRE(out.setParam(prefix + m.id, m.layout->params[p].name, v).ok());
            }
        }
        for (const Connection& c : g.connections()) {
            const Module& src = *g.find(c.src);
            const Module& dst = *g.find(c.dst);
            std::string slot = c.dstSlot < dst.layout->inputs.size()
                                   ? dst.layout->inputs[c.dstSlot].name
                                   : dst.layout->params[c.dstSlot - dst.layout->inputs.size()].name;
            REQUIRE(out.connect(prefix + c.src + ":" + src.layout->outputs[c.srcPort].name,
                                prefix + c.dst + ":" + slot)
                        .ok());
        }
    }
    return out;
}

} // namespace

TEST_CASE("voices side by side in vector lanes agree with the interpreter bit for bit",
          "[jit][differential][simd]") {
    // Voice kinds that exercise the wide path: prepare/process (an unmodulated filter), a filter
    // modulated by a shared LFO (its tick, branches and all, if-converted), audio-rate FM from a
    // per-voice LFO, noise, a feedback loop through z1 inside the voice (emit), and a voice with
    // a mix (a loop in its kernel: it runs one instance at a time, still right).
    using Voice = std::function<void(PatchGraph&, const std::string&, int)>;
    auto make = [](PatchGraph& g, const std::string& id, const char* type,
                   std::optional<float> arg = {}) { REQUIRE(g.create(id, type, arg).ok()); };
    auto link = [](PatchGraph& g, const std::string& a, const std::string& b) {
        REQUIRE(g.connect(a, b).ok());
    };
    auto set = [](PatchGraph& g, const std::string& id, const char* param, float v) {
        REQUIRE(g.setParam(id, param, v).ok());
    };
    const std::vector<std::pair<const char*, Voice>> kinds = {
        {"sine adsr lowpass gain",
         [&](PatchGraph& g, const std::string& p, int v) {
             make(g, p + "osc", "simple_sine");
             make(g, p + "env", "adsr");
             make(g, p + "filt", "biquad_filter");
             make(g, p + "amp", "gain");
             link(g, p + "osc", p + "env");
             link(g, p + "env", p + "filt");
             link(g, p + "filt", p + "amp");
             set(g, p + "osc", "freq", 110.0f + 37.0f * float(v));
             set(g, p + "env", "gate", v % 3 == 2 ? 0.0f : 1.0f);
             set(g, p + "filt", "cutoff", 400.0f + 150.0f * float(v));
             set(g, p + "filt", "mode", float(v % 4));
             set(g, p + "amp", "level", 0.1f);
         }},
        {"saw adsr swept by a shared lfo",
         [&](PatchGraph& g, const std::string& p, int v) {
             if (g.find("sweep") == nullptr) {
                 make(g, "sweep", "lfo");
                 set(g, "sweep", "freq", 7);
                 set(g, "sweep", "depth", 900);
             }
             make(g, p + "osc", "saw");
             make(g, p + "env", "adsr");
             make(g, p + "filt", "biquad_filter");
             link(g, p + "osc", p + "env");
             link(g, p + "env", p + "filt");
             link(g, "sweep", p + "filt:cutoff");
             set(g, p + "osc", "freq", 80.0f + 23.0f * float(v));
             set(g, p + "env", "gate", 1);
             set(g, p + "env", "attack", 5.0f + float(v));
             set(g, p + "filt", "q", 0.5f + 0.3f * float(v));
         }},
        {"square and triangle with audio-rate FM",
         [&](PatchGraph& g, const std::string& p, int v) {
             make(g, p + "mod", "lfo");
             make(g, p + "car", "triangle");
             make(g, p + "sq", "square");
             make(g, p + "sum", "gain");
             set(g, p + "mod", "freq", 300.0f + 11.0f * float(v));
             set(g, p + "mod", "depth", 200);
             set(g, p + "mod", "shape", float(v % 4));
             set(g, p + "car", "freq", 440);
             set(g, p + "sq", "freq", 97.0f * float(v + 1));
             set(g, p + "sq", "width", 0.1f + 0.05f * float(v % 10));
             link(g, p + "mod", p + "car:freq");
             link(g, p + "mod", p + "sq:freq");
             link(g, p + "car", p + "sum");
             link(g, p + "sq", p + "sum");
         }},
        {"noise through a bandpass and a z1 loop",
         [&](PatchGraph& g, const std::string& p, int v) {
             make(g, p + "n", "noise", float(v + 1));
             make(g, p + "filt", "biquad_filter");
             make(g, p + "vca", "gain");
             make(g, p + "late", "z1");
             set(g, p + "filt", "mode", 2);
             set(g, p + "filt", "cutoff", 1000.0f + 100.0f * float(v));
             set(g, p + "vca", "level", 0.5f);
             link(g, p + "n", p + "filt");
             link(g, p + "filt", p + "vca");
             link(g, p + "vca", p + "late");
             link(g, p + "late", p + "vca:level"); // the loop closes through z1
             make(g, p + "out", "gain");
             link(g, p + "vca", p + "out");
         }},
        {"saw into a mix (does not widen)",
         [&](PatchGraph& g, const std::string& p, int v) {
             make(g, p + "a", "saw");
             make(g, p + "b", "saw");
             make(g, p + "m", "mix", 2.0f);
             set(g, p + "a", "freq", 100.0f + float(v));
             set(g, p + "b", "freq", 150.0f + float(v));
             link(g, p + "a", p + "m:in1");
             link(g, p + "b", p + "m:in2");
         }},
    };
    std::mt19937 rng(99);
    for (const auto& [name, voice] : kinds)
        for (int voices : {1, 7, 8, 9, 19}) {
            PatchGraph g;
            for (int v = 0; v < voices; ++v) voice(g, "v" + std::to_string(v) + "_", v);
            auto s = buildSchedule(g);
            REQUIRE(s.ok());
            // The quick tier too: narrow below 8 voices; from 8 on, wide batches whose
            // one-instance function (the fallback, and any voice left over) has no settled path.
            for (int level : {kQuickTier, 1, 2}) {
                Outcome o = differential(*s, level, 4800, rng, 8);
                INFO(name << ", " << voices << " voices, O" << level << ": max diff "
                          << o.diff.maxAbs << ", rms " << o.diff.scale << ", " << o.wideGroups
                          << " groups side by side");
                CHECK(o.bitExact);
                CHECK(o.diff.scale > 1e-3);
                if (voices >= 8 && std::string(name).find("mix") == std::string::npos)
                    CHECK(o.wideGroups >= 8);
            }
        }
}

TEST_CASE("random graphs, each copied nine times, agree side by side",
          "[jit][differential][simd]") {
    std::mt19937 rng(4242);
    int wide = 0, bitExact = 0;
    const int kGraphs = 40;
    for (int i = 0; i < kGraphs; ++i) {
        auto patch = test::randomPatch(rng);
        PatchGraph bank = replicate(patch.graph, 9, rng, i % 2 == 0);
        auto s = buildSchedule(bank);
        INFO("graph " << i << " (copied nine times):\n" << patch.text);
        REQUIRE(s.ok());
        Outcome o = differential(*s, i % 4 == 0 ? 2 : 1, 2400, rng, 4);
        INFO("max diff " << o.diff.maxAbs << ", rms " << o.diff.scale);
        CHECK(o.diff.ok());
        bitExact += o.bitExact ? 1 : 0;
        wide += o.wideGroups > 0 ? 1 : 0;
    }
    WARN(kGraphs << " random graphs copied nine times: " << bitExact << " bit-exact, " << wide
                 << " ran groups side by side");
    CHECK(bitExact == kGraphs);
    CHECK(wide >= kGraphs / 2);
}
