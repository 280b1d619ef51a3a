// The per-sample interpreter (the benchmark's naive baseline) against the block interpreter and
// the JIT, sample by sample: every example patch through the engine, and random valid graphs with
// modulation and feedback in irregular block sizes with a parameter change mid-way.
//
// It runs the same native kernels as the block interpreter with the same float operations in the
// same order (schedule.h), so the two must be bit-identical; against the JIT the tolerance of
// test_jit_differential.cpp holds (max |a - b| <= 1e-6 * max(RMS, 1e-3), same non-finite samples).
#include "bench/random_patch.h"
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/param_block.h"
#include "compiler/patch_graph.h"
#include "compiler/program_factory.h"
#include "compiler/sample_interpreter.h"
#include "runtime/denormals.h"
#include "runtime/offline_render.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>

using namespace chronus;

namespace {

using test::renderProgram;

/// Same bits, NaN for NaN.
bool bitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Within the JIT differential tolerance, non-finite in the same places.
bool closeEnough(const std::vector<float>& ref, const std::vector<float>& got, double& worst) {
    double acc = 0, maxAbs = 0;
    size_t finite = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const bool a = std::isfinite(ref[i]), b = std::isfinite(got[i]);
        if (a != b) return false;
        if (!a) continue;
        acc += double(ref[i]) * ref[i];
        ++finite;
        maxAbs = std::max(maxAbs, std::fabs(double(ref[i]) - got[i]));
    }
    const double scale = std::max(finite ? std::sqrt(acc / double(finite)) : 0.0, 1e-3);
    worst = maxAbs / scale;
    return maxAbs <= 1e-6 * scale;
}

} // namespace

TEST_CASE("the per-sample interpreter is reachable by name", "[interp-sample]") {
    auto f = programFactory("interp-sample");
    REQUIRE(f.ok());
    PatchGraph g;
    REQUIRE(g.create("osc", "simple_sine").ok());
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    auto p = (*f)(*s);
    REQUIRE(p.ok());
    CHECK((*p)->kind() == "interp-sample");
    CHECK_FALSE((*p)->ir("optimized").ok());
    CHECK_FALSE(programFactory("interp-per-sample").ok());
}

TEST_CASE("random graphs sound the same in the per-sample interpreter, the block interpreter "
          "and the JIT",
          "[interp-sample][differential]") {
    std::mt19937 rng(20240917);
    static const std::vector<uint32_t> chunks = {1, 7, 256, 300, 64, 3, 511, 128};
    const int kGraphs = test::randomGraphCount(150);
    int jitCompared = 0, withFeedback = 0;
    double worst = 0;
    for (int i = 0; i < kGraphs; ++i) {
        auto patch = test::randomPatch(rng);
        auto schedule = buildSchedule(patch.graph);
        INFO("graph " << i << ":\n" << patch.text);
        REQUIRE(schedule.ok());
        for (const Stage& st : schedule->stages) withFeedback += st.feedback ? 1 : 0;
        int64_t change = -1;
        float value = 0;
        if (schedule->paramCount > 0) {
            change = std::uniform_int_distribution<int64_t>(0, schedule->paramCount - 1)(rng);
            for (const auto& n : schedule->nodes)
                if (change >= n.paramIndex && change < n.paramIndex + n.paramCount())
                    value = test::detail::paramValue(
                        rng, n.layout->params[size_t(change - n.paramIndex)].desc);
        }
        auto block = makeInterpreter(*schedule);
        auto sample = makeSampleInterpreter(*schedule);
        const auto ref = renderProgram(*block, 4800, chunks, change, value);
        const auto got = renderProgram(*sample, 4800, chunks, change, value);
        CHECK(bitIdentical(ref, got));
        if (i % 3 != 0) continue; // the JIT on every third graph: compiles cost in a debug build
        JitOptions jo;
        jo.optLevel = i % 2 == 0 ? 2 : 1;
        jo.keepIr = false;
        auto jit = compileJit(*schedule, jo);
        REQUIRE(jit.ok());
        const auto fused = renderProgram(**jit, 4800, chunks, change, value);
        double w = 0;
        CHECK(closeEnough(got, fused, w));
        worst = std::max(worst, w);
        ++jitCompared;
    }
    WARN(kGraphs << " random graphs bit-identical in both interpreters; " << jitCompared
                 << " against the JIT, worst relative diff " << worst << "; " << withFeedback
                 << " feedback stages");
    CHECK(withFeedback > 5 * kGraphs / 150);
}

TEST_CASE("every example patch sounds the same in the per-sample and the block interpreter",
          "[interp-sample][differential]") {
    auto sample = programFactory("interp-sample");
    auto block = programFactory("interp");
    REQUIRE(sample.ok());
    REQUIRE(block.ok());
    int rendered = 0;
    for (const auto& entry : std::filesystem::directory_iterator(CHRONUS_SOURCE_DIR "/examples")) {
        if (entry.path().extension() != ".patch") continue;
        INFO(entry.path().filename().string());
        auto lines = readPatchFile(entry.path().string());
        REQUIRE(lines.ok());
        OfflineRenderOptions opts;
        opts.seconds = 2.5;
        opts.frames = 200; // not a divisor of the interpreters' block, on purpose
        opts.factory = *block;
        // Audio in for an example that reads it (wav_effect.patch): the differential tests' own.
        auto in = std::make_shared<InputAudio>();
        in->channels.push_back(test::testAudioIn()[0]);
        opts.input = in;
        auto ref = renderPatch(*lines, opts);
        REQUIRE(ref.ok());
        opts.factory = *sample;
        auto got = renderPatch(*lines, opts);
        REQUIRE(got.ok());
        CHECK(bitIdentical(*ref, *got));
        CHECK(test::rms(*got) > 1e-4);
        ++rendered;
    }
    CHECK(rendered >= 3);
}

TEST_CASE("a feedback loop through z1 closes on the same sample in every engine",
          "[interp-sample][differential]") {
    // saw -> mix -> lowpass -> z1 -> mix: the loop is a feedback stage the block interpreter runs
    // sample by sample and the per-sample interpreter runs with the rest of the graph.
    PatchGraph g;
    REQUIRE(g.create("osc", "saw").ok());
    REQUIRE(g.create("sum", "mix", 2.0f).ok());
    REQUIRE(g.setParam("sum", "level2", 0.9f).ok());
    REQUIRE(g.create("filt", "biquad_filter").ok());
    REQUIRE(g.create("fb", "z1").ok());
    REQUIRE(g.create("amp", "gain").ok());
    REQUIRE(g.connect("osc", "sum:in1").ok());
    REQUIRE(g.connect("sum", "filt").ok());
    REQUIRE(g.connect("filt", "fb").ok());
    REQUIRE(g.connect("fb", "sum:in2").ok());
    REQUIRE(g.connect("filt", "amp").ok());
    auto s = buildSchedule(g);
    REQUIRE(s.ok());
    REQUIRE(std::any_of(s->stages.begin(), s->stages.end(),
                        [](const Stage& st) { return st.feedback; }));
    auto block = makeInterpreter(*s);
    auto sample = makeSampleInterpreter(*s);
    auto jit = compileJit(*s);
    REQUIRE(jit.ok());
    const std::vector<uint32_t> chunks = {64};
    const auto a = renderProgram(*block, 9600, chunks, -1, 0);
    const auto b = renderProgram(*sample, 9600, chunks, -1, 0);
    const auto c = renderProgram(**jit, 9600, chunks, -1, 0);
    CHECK(bitIdentical(a, b));
    double worst = 0;
    CHECK(closeEnough(b, c, worst));
    CHECK(test::rms(b) > 1e-3);
}
