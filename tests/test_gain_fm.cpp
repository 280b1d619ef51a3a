// gain's level takes any finite value in [-1e6, 1e6], so a gain can scale a modulator to an FM
// depth in Hz. The FM voice of issue 13 (modulator sine at 2f -> gain 6f -> carrier freq at f,
// index 6f / 2f = 3) must sound as the textbook says: sidebands at f + k * 2f for every integer k,
// the negative ones folded onto positive frequencies, so energy at odd multiples of f and none
// at the even ones; and the JIT must agree with the interpreter bit for bit.
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fmt/format.h>

using namespace chronus;

namespace {

constexpr double kRate = 48000;
constexpr float kF = 110; // carrier; modulator 220 Hz, depth 660 Hz

/// `voices` FM voices (voice v at f * (v + 1)), each carrier into one `master` gain.
PatchGraph fmVoices(int voices) {
    PatchGraph g;
    REQUIRE(g.create("master", "gain").ok());
    REQUIRE(g.setParam("master", "level", 1.0f / float(voices)).ok());
    for (int v = 0; v < voices; ++v) {
        const float f = kF * float(v + 1);
        const std::string m = fmt::format("mod{}", v), d = fmt::format("depth{}", v),
                          c = fmt::format("car{}", v);
        REQUIRE(g.create(m, "simple_sine").ok());
        REQUIRE(g.setParam(m, "freq", 2 * f).ok());
        REQUIRE(g.setParam(m, "gain", 1).ok());
        REQUIRE(g.create(d, "gain").ok());
        REQUIRE(g.setParam(d, "level", 6 * f).ok());
        REQUIRE(g.create(c, "simple_sine").ok());
        REQUIRE(g.setParam(c, "freq", f).ok());
        REQUIRE(g.setParam(c, "gain", 0.5f).ok());
        REQUIRE(g.connect(m, d).ok());
        REQUIRE(g.connect(d, c + ":freq").ok());
        REQUIRE(g.connect(c, "master").ok());
    }
    return g;
}

std::vector<float> render(Program& p, uint32_t frames) {
    return test::renderProgram(p, frames, {64, 7, 256, 1, 300}, -1, 0);
}

} // namespace

TEST_CASE("gain takes levels in [-1e6, 1e6]: negative inverts, beyond is refused",
          "[gain][params]") {
    PatchGraph g;
    REQUIRE(g.create("g", "gain").ok());
    CHECK(g.setParam("g", "level", -1e6f).ok());
    CHECK(g.setParam("g", "level", 1e6f).ok());
    CHECK(g.setParam("g", "level", 660).ok());
    CHECK_FALSE(g.setParam("g", "level", 1.5e6f).ok());
    CHECK_FALSE(g.setParam("g", "level", -1.5e6f).ok());
    CHECK_FALSE(g.setParam("g", "level", std::nanf("")).ok());
    CHECK(g.find("g")->params[0] == 660); // refused writes change nothing

    // The engine's parameter store takes the same range (compiler/param_check.h).
    test::OfflineRig rig;
    rig.apply("/patch/create s simple_sine\n/patch/create g gain\n/patch/connect s g\n"
              "/mod/s/gain 0.5\n/mod/g/level -2\n/patch/commit\n");
    CHECK(rig.engine->setParam("g", "level", -3.0f).ok());
    Status refused = rig.engine->setParam("g", "level", 2e6f);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.message(), Catch::Contains("level"));
    rig.renderSeconds(0.5); // past the parameter's smoothing
    const std::vector<float> tail = rig.slice(rig.position() - 4800, rig.position());
    // A sine of 0.5 times 3: peak 1.5 (the engine's output is not clipped), RMS 1.5 / sqrt 2.
    CHECK(test::rms(tail) == Approx(1.5 / std::sqrt(2.0)).epsilon(0.02));
}

TEST_CASE("the FM voice through gain has its sidebands at f + k 2f, in the JIT as interpreted",
          "[gain][fm][jit][differential]") {
    const PatchGraph g = fmVoices(1);
    auto schedule = buildSchedule(g);
    REQUIRE(schedule.ok());
    const uint32_t frames = 48000; // 1 s: 1 Hz bins, the peak search finds far less
    auto interp = makeInterpreter(*schedule);
    const std::vector<float> ref = render(*interp, frames);
    REQUIRE(test::rms(ref) > 0.1);

    // Sidebands at f + k * 2f; k < 0 fold onto |f + k * 2f|: the odd multiples of f.
    for (int k = 0; k <= 3; ++k) {
        const double expected = kF + k * 2.0 * kF; // and |f - (k + 1) 2f|, the same frequency
        const double peak = test::peakFrequency(ref, kRate, expected - 40, expected + 40);
        INFO("sideband k = " << k << ": expected " << expected << " Hz, peak at " << peak);
        CHECK(std::fabs(peak - expected) <= 1.5);
        // FM of index 3 has no energy at the even multiples of f.
        const double between = test::dftMagnitude(ref, kRate, expected + kF);
        CHECK(test::dftMagnitude(ref, kRate, expected) > 20 * between);
    }

    // The JIT, quick tier and optimised, against the interpreter: bit for bit.
    for (const bool quick : {true, false}) {
        INFO((quick ? "quick first tier" : "O2"));
        JitOptions jo;
        jo.optLevel = 2;
        jo.keepIr = false;
        if (quick) {
            trimShapeCache();
            jo.quickFirst = true;
        }
        auto jit = compileJit(*schedule, jo);
        REQUIRE(jit.ok());
        CHECK(render(**jit, frames) == ref);
    }
}

TEST_CASE("16 FM voices summed into master agree with the interpreter bit for bit",
          "[gain][fm][jit][differential]") {
    auto schedule = buildSchedule(fmVoices(16));
    REQUIRE(schedule.ok());
    auto interp = makeInterpreter(*schedule);
    const std::vector<float> ref = render(*interp, 9600);
    REQUIRE(test::rms(ref) > 0.01);
    for (const uint32_t lanes : {0u, 8u}) {
        INFO(lanes << " lanes");
        JitOptions jo;
        jo.optLevel = 2;
        jo.keepIr = false;
        jo.lanes = lanes;
        auto jit = compileJit(*schedule, jo);
        REQUIRE(jit.ok());
        CHECK(render(**jit, 9600) == ref);
    }
}
