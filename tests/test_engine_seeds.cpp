// The seeds' scenarios through the engine, deterministically on the offline backend: Tests 1-4,
// the multi-commit test, and each commit audible at once.
#include "runtime/offline_render.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

std::vector<float> renderExample(const char* name, double seconds) {
    auto lines = readPatchFile(std::string(CHRONUS_SOURCE_DIR) + "/examples/" + name);
    REQUIRE(lines.ok());
    OfflineRenderOptions o;
    o.seconds = seconds;
    auto audio = renderPatch(*lines, o);
    INFO((audio.ok() ? std::string() : audio.error().message));
    REQUIRE(audio.ok());
    return audio.take();
}

std::vector<float> window(const std::vector<float>& x, double from, double to,
                          double rate = 48000) {
    return std::vector<float>(x.begin() + std::lround(from * rate),
                              x.begin() + std::lround(to * rate));
}

} // namespace

TEST_CASE("seeds Test 1: a single oscillator sounds at once at 440 Hz", "[engine][seeds]") {
    auto x = renderExample("test1_single_osc.patch", 1.0);
    CHECK(peakFrequency(window(x, 0.2, 0.3), 48000, 300, 1000) == Approx(440).margin(1));
    CHECK(rms(window(x, 0.2, 1.0)) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.02));
    // "No silence": the very first block already plays (the commit swaps in at sample 0).
    CHECK(rms(x.data(), 256) > 0.05);
}

TEST_CASE("seeds Test 2: oscillator + ADSR attacks, sustains and releases", "[engine][seeds]") {
    auto x = renderExample("test2_osc_adsr.patch", 3.0);
    const double full = 0.2 / std::sqrt(2.0);
    CHECK(rms(x.data(), 256) > 0.0);                                     // attack starts at once
    CHECK(rms(window(x, 0.5, 1.9)) == Approx(0.7 * full).epsilon(0.03)); // sustain 0.7
    CHECK(peakFrequency(window(x, 1.0, 1.1), 48000, 300, 1000) == Approx(440).margin(1));
    CHECK(rms(window(x, 2.5, 3.0)) < 1e-3); // released (200 ms) after the gate closed at 2 s
}

TEST_CASE("seeds Test 3: the full chain is a filtered envelope tone", "[engine][seeds]") {
    auto x = renderExample("test3_full_chain.patch", 3.0);
    CHECK(rms(x.data(), 256) > 0.0);
    CHECK(rms(window(x, 0.5, 1.9)) > 0.05);
    CHECK(peakFrequency(window(x, 1.0, 1.1), 48000, 300, 1000) == Approx(440).margin(1));
    CHECK(rms(window(x, 2.5, 3.0)) < 1e-3);
}

TEST_CASE("seeds Test 4: each commit adds a module to the last one, with no silence",
          "[engine][seeds]") {
    OfflineRig rig({.factory = defaultFactory()});
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.renderSeconds(0.5);
    rig.apply("/patch/create env1 adsr\n/patch/connect osc1 env1\n/gate/env1 1\n/patch/commit\n");
    rig.renderSeconds(0.5);
    rig.apply(
        "/patch/create filt1 biquad_filter\n/mod/filt1/cutoff 2000\n/patch/connect env1 filt1\n"
        "/patch/commit\n");
    rig.renderSeconds(0.5);
    CHECK(rig.engine->status().activeSeq == 3);
    CHECK(rig.engine->status().commits == 3);
    // No block anywhere is silent, and the tone stays at 440 Hz in every stage.
    for (size_t b = 0; b + 256 <= rig.out.size(); b += 256) {
        INFO("block at sample " << b);
        REQUIRE(rms(rig.out.data() + b, 256) > 0.01);
    }
    for (double t : {0.0, 0.5, 1.0})
        CHECK(peakFrequency(window(rig.out, t + 0.3, t + 0.4), 48000, 300, 1000) ==
              Approx(440).margin(1));
    CHECK_THAT(rig.engine->dump(), Catch::Contains("/patch/connect env1:out filt1:in"));
}

TEST_CASE("multi-commit: slots alternate, every commit is heard in its first block, no timeouts",
          "[engine][seeds]") {
    OfflineRig rig({.factory = defaultFactory()});
    rig.apply(
        "/patch/create osc0 simple_sine\n/mod/osc0/freq 200\n/mod/osc0/gain 0.05\n/patch/commit\n");
    rig.render(2048);
    for (int k = 1; k <= 8; ++k) {
        const float hz = 200.0f + 150.0f * float(k);
        REQUIRE(rig.engine->create(fmt::format("osc{}", k), "simple_sine").ok());
        REQUIRE(rig.engine->setParam(fmt::format("osc{}", k), "freq", hz).ok());
        REQUIRE(rig.engine->setParam(fmt::format("osc{}", k), "gain", 0.05f).ok());
        const size_t at = rig.position();
        CommitReport r = rig.commit();
        INFO("commit " << k + 1 << ": " << r.reason);
        REQUIRE(r.ok);
        CHECK_FALSE(r.silent);
        CHECK(r.compileMs >= 0);
        CHECK(rig.engine->status().activeSeq == uint64_t(k + 1));
        rig.render(4096);
        // The new oscillator is in the very next blocks: its frequency stands out there.
        auto after = rig.slice(at, at + 4096);
        CHECK(dftMagnitude(after, 48000, hz) > 10 * dftMagnitude(after, 48000, hz + 75));
    }
    const EngineStatus s = rig.engine->status();
    CHECK(s.commits == 9);
    CHECK(s.failures == 0);
}
