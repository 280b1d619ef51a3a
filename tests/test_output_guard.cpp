// Issue 15, case 4: the speaker is protected while a patch plays. Parameter writes inside their
// ranges make a stable patch unstable (a feedback loop's gain above 1, a chain of gains into a
// biquad); the output guard silences every non-finite or runaway block, resets the patch, and the
// patch recovers once the parameter is sane again, recommits included. Both engines.
#include "runtime/output_guard.h"
#include "runtime/slot.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <fmt/format.h>

using namespace chronus;
using namespace chronus::test;

namespace {

/// sine -> mix 2 (in1) -> gain -> z1 -> mix:in2, the gain also to the output: stable while the
/// loop gain is below 1.
const std::string kFeedback = "/patch/create osc simple_sine\n"
                              "/patch/create m mix 2\n"
                              "/patch/create g gain\n"
                              "/patch/create d z1\n"
                              "/patch/create out output\n"
                              "/patch/connect osc m:in1\n"
                              "/patch/connect m g\n"
                              "/patch/connect g d\n"
                              "/patch/connect d m:in2\n"
                              "/patch/connect g out\n"
                              "/mod/g/level 0.5\n"
                              "/patch/commit\n";

/// 70 gains in a chain into a biquad lowpass.
std::string gainChain(int n) {
    std::string text = "/patch/create osc simple_sine\n/patch/create f biquad_filter\n";
    std::string prev = "osc";
    for (int i = 0; i < n; ++i) {
        text += fmt::format("/patch/create g{} gain\n/patch/connect {} g{}\n", i, prev, i);
        prev = fmt::format("g{}", i);
    }
    return text + "/patch/connect " + prev + " f\n/patch/commit\n";
}

size_t nonFinite(const std::vector<float>& x) {
    return static_cast<size_t>(
        std::count_if(x.begin(), x.end(), [](float v) { return !std::isfinite(v); }));
}

float peakOf(const std::vector<float>& x) {
    float p = 0;
    for (float v : x) p = std::max(p, std::fabs(v));
    return p;
}

EngineOptions withFactory(bool jit) {
    EngineOptions o;
    o.factory = jit ? defaultFactory() : interpreterFactory();
    return o;
}

} // namespace

TEST_CASE("the output guard: a feedback loop pushed past 1 is silenced, then recovers",
          "[engine][guard]") {
    for (bool jit : {false, true}) {
        INFO((jit ? "jit" : "interp"));
        OfflineRig rig(withFactory(jit));
        rig.apply(kFeedback);
        rig.renderSeconds(0.5);
        const double steady = rms(rig.slice(rig.position() - 4800, rig.position()));
        REQUIRE(steady > 0.05);
        REQUIRE(rig.engine->status().guardTrips == 0);

        REQUIRE(rig.engine->setParam("g", "level", 2.0f).ok()); // in range, unstable
        const size_t blowUp = rig.position();
        rig.renderSeconds(1.0);
        const auto during = rig.slice(blowUp, rig.position());
        CHECK(nonFinite(during) == 0);
        CHECK(peakOf(during) <= kRunawayPeak);
        const EngineStatus tripped = rig.engine->status();
        CHECK(tripped.guardTrips >= 1);
        CHECK((tripped.guardCause == "non-finite" || tripped.guardCause == "runaway"));
        CHECK(tripped.guardLastSeq == 1);
        CHECK(tripped.guardLastSample >= blowUp);

        // Sane again: it plays as before within a hold-off (a write ends it after 50 ms).
        REQUIRE(rig.engine->setParam("g", "level", 0.5f).ok());
        const size_t fixed = rig.position();
        rig.renderSeconds(0.5);
        const auto after = rig.slice(fixed + 4800, rig.position());
        CHECK(nonFinite(after) == 0);
        CHECK(rms(after) == Approx(steady).epsilon(0.05));
        const uint64_t trips = rig.engine->status().guardTrips;
        rig.renderSeconds(0.5);
        CHECK(rig.engine->status().guardTrips == trips); // recovered, not tripping any more
        WARN((jit ? "jit" : "interp")
             << ": level 2 for 1 s: " << tripped.guardTrips << " blocks silenced ("
             << tripped.guardCause << "), 0 non-finite samples played; at 0.5 again RMS "
             << rms(after) << " (steady " << steady << ")");
    }
}

TEST_CASE("the output guard: a recommit right after a trip is not refused for poisoned state",
          "[engine][guard]") {
    for (bool jit : {false, true}) {
        INFO((jit ? "jit" : "interp"));
        OfflineRig rig(withFactory(jit));
        rig.apply(kFeedback);
        rig.renderSeconds(0.2);
        REQUIRE(rig.engine->setParam("g", "level", 2.0f).ok());
        rig.renderSeconds(0.2);
        REQUIRE(rig.engine->status().guardTrips >= 1);
        // The state is poisoned and held off; the parameter goes back and a commit follows at once.
        REQUIRE(rig.engine->setParam("g", "level", 0.5f).ok());
        REQUIRE(rig.engine->create("extra", "simple_sine").ok());
        REQUIRE(rig.engine->setParam("extra", "gain", 0.0f).ok());
        const CommitReport r = rig.commit();
        INFO(r.reason);
        CHECK(r.ok);
        const size_t from = rig.position();
        rig.renderSeconds(0.5);
        const auto after = rig.slice(from + 4800, rig.position());
        CHECK(nonFinite(after) == 0);
        CHECK(rms(after) > 0.05);
        // And again, with nothing poisoned: commits keep working.
        REQUIRE(rig.engine->remove("extra").ok());
        const CommitReport again = rig.commit();
        CHECK(again.ok);
    }
}

TEST_CASE("the output guard: 70 gains at level 4 into a biquad are silenced, then recover",
          "[engine][guard]") {
    for (bool jit : {false, true}) {
        INFO((jit ? "jit" : "interp"));
        OfflineRig rig(withFactory(jit));
        rig.apply(gainChain(70));
        rig.renderSeconds(0.3);
        const double steady = rms(rig.slice(rig.position() - 4800, rig.position()));
        REQUIRE(steady > 0.05);
        for (int i = 0; i < 70; ++i)
            REQUIRE(rig.engine->setParam(fmt::format("g{}", i), "level", 4.0f).ok());
        const size_t blowUp = rig.position();
        rig.renderSeconds(1.0);
        const auto during = rig.slice(blowUp, rig.position());
        CHECK(nonFinite(during) == 0);
        CHECK(peakOf(during) <= kRunawayPeak);
        CHECK(rig.engine->status().guardTrips >= 1);
        for (int i = 0; i < 70; ++i)
            REQUIRE(rig.engine->setParam(fmt::format("g{}", i), "level", 1.0f).ok());
        const size_t fixed = rig.position();
        rig.renderSeconds(0.5);
        const auto after = rig.slice(fixed + 9600, rig.position());
        CHECK(nonFinite(after) == 0);
        CHECK(rms(after) == Approx(steady).epsilon(0.05));
    }
}

TEST_CASE("the output guard leaves a sane block alone and counts nothing", "[engine][guard]") {
    OutputGuard guard(48000);
    std::vector<float> block(256);
    for (size_t i = 0; i < block.size(); ++i) block[i] = 900.0f * std::sin(0.01f * float(i));
    const auto original = block;
    const auto v = guard.audioThreadCheck(block.data(), 256, 0, 1, 0);
    CHECK_FALSE(v.poison);
    CHECK(block == original);
    CHECK(guard.trips() == 0);
    CHECK(guard.lastCause() == GuardCause::none);

    block[100] = std::numeric_limits<float>::quiet_NaN();
    CHECK(guard.audioThreadCheck(block.data(), 256, 256, 1, 0).poison);
    CHECK(guard.trips() == 1);
    CHECK(guard.lastCause() == GuardCause::nonFinite);
    CHECK(guard.lastSample() == 256);
    CHECK(peakOf(block) == 0.0f);
    // Held off: silent for 50 ms (2400 samples) unless a parameter is written, then reset and
    // faded in.
    int silenced = 0;
    for (int b = 0; b < 20; ++b) {
        std::fill(block.begin(), block.end(), 0.5f);
        const auto h = guard.audioThreadCheck(block.data(), 256, 512 + 256 * uint64_t(b), 1, 0);
        if (peakOf(block) == 0.0f) ++silenced;
        if (h.reset) break;
    }
    CHECK(silenced == 10); // ceil(2400 / 256)
    std::fill(block.begin(), block.end(), 0.5f);
    (void)guard.audioThreadCheck(block.data(), 256, 0, 1, 0);
    CHECK(block.front() < 0.01f); // the fade-in
    CHECK(block.back() == 0.5f);

    std::fill(block.begin(), block.end(), 2000.0f);
    (void)guard.audioThreadCheck(block.data(), 256, 0, 1, 0);
    CHECK(guard.lastCause() == GuardCause::runaway);
    CHECK(guard.trips() == 2);
}
