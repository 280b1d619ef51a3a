// The swap itself: state carried over exactly (phase continuous across commits), no click with or
// without a crossfade, parameter writes made during a compile all arrive, and failing or runaway
// commits leave the old patch playing.
#include "runtime/click_meter.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <atomic>
#include <chrono>
#include <thread>

using namespace chronus;
using namespace chronus::test;

namespace {

/// Commits that add and remove other (silent) modules around osc1: the ten commits of the
/// phase and click tests.
void tenCommits(OfflineRig& rig, uint32_t gapFrames, std::vector<size_t>* swapAt = nullptr) {
    for (int k = 0; k < 10; ++k) {
        const std::string id = fmt::format("x{}", k);
        if (k % 3 == 2) {
            REQUIRE(rig.engine->remove(fmt::format("x{}", k - 1)).ok());
        } else {
            REQUIRE(rig.engine->create(id, k % 2 == 0 ? "simple_sine" : "gain").ok());
            if (k % 2 == 0) REQUIRE(rig.engine->setParam(id, "gain", 0).ok());
        }
        if (swapAt) swapAt->push_back(rig.position());
        CommitReport r = rig.commit();
        INFO(r.reason);
        REQUIRE(r.ok);
        rig.render(gapFrames);
    }
}

} // namespace

TEST_CASE("an oscillator's phase runs on exactly across ten commits", "[engine][swap]") {
    auto run = [](bool commits) {
        OfflineRig rig({.factory = defaultFactory()});
        rig.apply("/patch/create osc1 simple_sine\n/mod/osc1/freq 441.3\n/patch/commit\n");
        rig.render(1000); // commits land mid-block and off the grid
        if (commits)
            tenCommits(rig, 1234);
        else
            rig.render(10 * 1234);
        return rig.out;
    };
    const auto reference = run(false);
    const auto withCommits = run(true);
    REQUIRE(reference.size() == withCommits.size());
    float worst = 0;
    for (size_t i = 0; i < reference.size(); ++i)
        worst = std::max(worst, std::fabs(reference[i] - withCommits[i]));
    CHECK(worst < 1e-6f);
}

TEST_CASE("no click at a swap, with and without crossfade", "[engine][swap]") {
    for (double xfade : {0.0, 5.0}) {
        DYNAMIC_SECTION("crossfade " << xfade << " ms") {
            OfflineRig rig({.factory = defaultFactory(), .xfadeMs = xfade});
            rig.apply("/patch/create osc1 simple_sine\n/patch/create osc2 simple_sine\n"
                      "/mod/osc2/freq 660\n/mod/osc2/gain 0.1\n/patch/commit\n");
            rig.render(3000);
            std::vector<size_t> swaps;
            tenCommits(rig, 2400, &swaps);
            // Steady state: everything at least 600 samples away from a swap.
            float steady = 0;
            size_t last = 0;
            for (size_t s : swaps) {
                if (s > last + 1200)
                    steady = std::max(steady, largestJump(rig.out, last + 600, s - 600));
                last = s;
            }
            steady = std::max(steady, largestJump(rig.out, last + 600, rig.out.size()));
            REQUIRE(steady > 0.01f);
            for (size_t s : swaps) {
                INFO("swap at sample " << s);
                CHECK(largestJump(rig.out, s - 256, s + 600) <= steady * 1.001f);
            }
        }
    }
}

TEST_CASE("parameter writes made during a compile all arrive", "[engine][swap][params]") {
    std::atomic<bool> compiling{false}, writesDone{false};
    std::atomic<int> calls{0};
    auto slow = [&](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
        if (calls++ > 0) { // the second commit: hold the compile until the writes are made
            compiling = true;
            for (int i = 0; i < 5000 && !writesDone; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return makeInterpreter(s);
    };
    OfflineRig rig({.factory = slow});
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(4800);
    REQUIRE(rig.engine->create("osc2", "simple_sine").ok());
    REQUIRE(rig.engine->setParam("osc2", "gain", 0).ok());

    std::thread writer([&] {
        while (!compiling) std::this_thread::sleep_for(std::chrono::microseconds(100));
        for (int i = 0; i < 2000; ++i) { // a storm; the last values must win
            REQUIRE(rig.engine->setParam("osc1", "freq", 200.0f + float(i % 500)).ok());
            REQUIRE(rig.engine->setParam("osc2", "freq", 900.0f + float(i % 300)).ok());
        }
        REQUIRE(rig.engine->setParam("osc1", "freq", 330).ok());
        REQUIRE(rig.engine->setParam("osc2", "freq", 660).ok());
        REQUIRE(rig.engine->setParam("osc2", "gain", 0.15f).ok());
        writesDone = true;
    });
    CommitReport r = rig.commit();
    writer.join();
    REQUIRE(r.ok);
    rig.render(4800); // smoothing settles
    rig.render(24000);
    auto tail = rig.slice(rig.position() - 24000, rig.position());
    const double at330 = dftMagnitude(tail, 48000, 330), at660 = dftMagnitude(tail, 48000, 660);
    // A Hann-windowed DFT of a sine reads amplitude / 4.
    CHECK(at330 == Approx(0.2 / 4).epsilon(0.02));
    CHECK(at660 == Approx(0.15 / 4).epsilon(0.02));
    CHECK(dftMagnitude(tail, 48000, 440) < 0.01);
    const std::string dump = rig.engine->dump();
    CHECK_THAT(dump, Catch::Contains("/mod/osc1/freq 330"));
    CHECK_THAT(dump, Catch::Contains("/mod/osc2/freq 660"));
    CHECK_THAT(dump, Catch::Contains("/mod/osc2/gain 0.15"));
}

TEST_CASE("a failing compile leaves the old patch playing and reports why",
          "[engine][swap][errors]") {
    std::atomic<bool> failNext{false};
    auto factory = [&](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
        if (failNext) return makeError("simulated LLVM failure");
        return makeInterpreter(s);
    };
    OfflineRig rig({.factory = factory});
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(9600);
    failNext = true;
    REQUIRE(rig.engine->setParam("osc1", "freq", 880).ok() == true);
    REQUIRE(rig.engine->create("osc2", "simple_sine").ok());
    CommitReport r = rig.commit();
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.reason, Catch::Contains("simulated LLVM failure"));
    rig.render(24000);
    auto tail = rig.slice(rig.position() - 4800, rig.position());
    CHECK(peakFrequency(tail, 48000, 300, 1500) ==
          Approx(880).margin(1));                                   // the write still arrived
    CHECK(rms(tail) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.02)); // osc2 never played
    const EngineStatus s = rig.engine->status();
    CHECK(s.activeSeq == 1);
    CHECK(s.failures == 1);
    CHECK_THAT(rig.engine->dump(), !Catch::Contains("osc2"));
    // The next good commit goes through.
    failNext = false;
    REQUIRE(rig.commit().ok);
    CHECK(rig.engine->status().activeSeq == 3);
}

TEST_CASE("a runaway patch is refused and the old patch plays on", "[engine][swap][errors]") {
    for (float poison :
         {std::numeric_limits<float>::quiet_NaN(), 1e6f, std::numeric_limits<float>::infinity()}) {
        DYNAMIC_SECTION("output " << poison) {
            std::atomic<bool> poisonNext{false};
            auto factory = [&](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
                auto p = makeInterpreter(s);
                if (poisonNext)
                    return std::unique_ptr<Program>(new PoisonedProgram(std::move(p), poison));
                return p;
            };
            OfflineRig rig({.factory = factory});
            rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
            rig.render(4800);
            poisonNext = true;
            REQUIRE(rig.engine->create("osc2", "simple_sine").ok());
            CommitReport r = rig.commit();
            CHECK_FALSE(r.ok);
            CHECK_THAT(r.reason,
                       Catch::Contains(std::isnan(poison) || std::isinf(poison) ? "non-finite"
                                                                                : "runaway"));
            rig.render(9600);
            for (float v : rig.out) REQUIRE(std::isfinite(v));
            CHECK(peakFrequency(rig.slice(9600, 14400), 48000, 300, 1000) == Approx(440).margin(1));
            CHECK(rig.engine->status().activeSeq == 1);
        }
    }
}

TEST_CASE("a prime that cannot reach the audio thread times out and changes nothing",
          "[engine][swap][errors]") {
    EngineOptions o;
    o.factory = interpreterFactory();
    o.primeTimeoutMs = 50;
    auto e = Engine::create(o);
    REQUIRE(e.ok());
    Engine& engine = **e;
    REQUIRE(engine.create("osc1", "simple_sine").ok());
    CommitReport report;
    const uint64_t seq = engine.commit([&](const CommitReport& r) { report = r; }); // no audio runs
    REQUIRE(engine.waitForCommit(seq, 10'000));
    CHECK_FALSE(report.ok);
    CHECK_THAT(report.reason, Catch::Contains("timed out after 50 ms"));
    CHECK(engine.status().activeSeq == 0);
    CHECK(engine.dump().empty());
}

TEST_CASE("silence is reported, not refused", "[engine][swap]") {
    OfflineRig rig;
    REQUIRE(rig.engine->create("osc1", "simple_sine").ok());
    REQUIRE(rig.engine->setParam("osc1", "gain", 0).ok());
    CommitReport r = rig.commit();
    CHECK(r.ok);
    CHECK(r.silent);
    CHECK(r.primeRms < 0.001);
    CHECK(rig.engine->status().activeSeq == 1);
}

TEST_CASE("a commit that changes what is heard crossfades, and one that does not swaps hard",
          "[engine][swap][xfade]") {
    OfflineRig rig; // the engine's defaults: a 10 ms crossfade
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(2000);
    CHECK(rig.engine->status().crossfades == 0); // the first commit starts from silence
    REQUIRE(rig.commit().ok);                    // the same patch again
    CHECK(rig.engine->status().crossfades == 0);
    // Every kind of change crossfades: a module, a creation argument, a connection, a type.
    rig.apply("/patch/create m mix 2\n/patch/commit\n");
    CHECK(rig.engine->status().crossfades == 1);
    rig.apply("/patch/delete m\n/patch/create m mix 3\n/patch/commit\n");
    CHECK(rig.engine->status().crossfades == 2);
    rig.apply("/patch/connect osc1 m:in1\n/patch/commit\n");
    CHECK(rig.engine->status().crossfades == 3);
    rig.apply("/patch/delete m\n/patch/create m gain\n/patch/connect osc1 m\n/patch/commit\n");
    CHECK(rig.engine->status().crossfades == 4);
    // A parameter value is not a change of the patch: it reached the playing slot already.
    rig.apply("/mod/osc1/freq 330\n/patch/commit\n");
    CHECK(rig.engine->status().crossfades == 4);
    CHECK(rig.engine->status().swaps == 7);
}

TEST_CASE("a recommit of the same patch is a hard swap, sample for sample",
          "[engine][swap][xfade]") {
    auto run = [](bool recommits) {
        OfflineRig rig;
        rig.apply("/patch/create osc1 simple_sine\n/patch/create env1 adsr\n"
                  "/patch/connect osc1 env1\n/gate/env1 1\n/patch/commit\n");
        rig.render(1000);
        for (int k = 0; k < 5; ++k) {
            if (recommits) REQUIRE(rig.commit().ok);
            rig.render(777);
        }
        return rig.out;
    };
    CHECK(run(true) == run(false));
}

TEST_CASE("a tier upgrade is a hard swap", "[engine][swap][xfade][jit]") {
    OfflineRig rig({.factory = defaultFactory()}); // tiered: a quick tier, then the optimised one
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.apply("/patch/create osc2 simple_sine\n/mod/osc2/gain 0.05\n/patch/commit\n");
    rig.settleTiers();
    const EngineStatus s = rig.engine->status();
    INFO(s.upgrades << " upgrades");
    CHECK(s.crossfades == 1);
    CHECK(s.swaps == 2 + s.upgrades);
}

TEST_CASE("the crossfade is a raised cosine over xfade-ms whose gains sum to one",
          "[engine][swap][xfade]") {
    // A constant 0.5 replaced by a constant -0.5: the output during the fade is 0.5 - g(n).
    OfflineRig rig;
    rig.apply("/patch/create a const\n/mod/a/value 0.5\n/patch/commit\n");
    rig.render(1000);
    const size_t swap = rig.position();
    rig.apply("/patch/delete a\n/patch/create b const\n/mod/b/value -0.5\n/patch/commit\n");
    rig.render(1000);
    const uint32_t fade = 480; // 10 ms at 48 kHz
    double worst = 0;
    for (uint32_t n = 0; n < fade; ++n) {
        const double g = 0.5 - 0.5 * std::cos(M_PI * double(n + 1) / fade);
        worst = std::max(worst, std::fabs(double(rig.out[swap + n]) - (0.5 - g)));
    }
    CHECK(worst < 1e-6);
    CHECK(rig.out[swap - 1] == 0.5f);
    for (size_t n = swap + fade; n < rig.out.size(); ++n) REQUIRE(rig.out[n] == -0.5f);
}

TEST_CASE("crossfading correlated programs: gains summing to one keep the level, equal power "
          "lifts it",
          "[engine][swap][xfade]") {
    // osc1 plays; a commit adds osc2 a fifth above. Old and new are strongly correlated: osc1
    // survives with its state, so it is the same signal in both. Rendered three ways: no commit
    // (the old program throughout), a hard swap (the new one from the swap), and the engine's
    // default crossfade. Then the same two signals crossfaded with equal-power gains (cos, sin):
    // osc1, in both, comes out (cos + sin) = up to sqrt(2) louder, +3 dB mid-fade; the sum (osc2
    // is uncorrelated) measured +2.1 dB over the louder program (2026-12, this test).
    auto run = [](double xfadeMs, bool commit) {
        OfflineRig rig({.factory = {}, .xfadeMs = xfadeMs});
        rig.apply("/patch/create osc1 simple_sine\n/mod/osc1/freq 441.3\n/patch/commit\n");
        rig.render(2000);
        if (commit)
            rig.apply("/patch/create osc2 simple_sine\n/mod/osc2/freq 662\n/mod/osc2/gain 0.1\n"
                      "/patch/commit\n");
        rig.render(2000);
        return rig.out;
    };
    const auto before = run(0, false), after = run(0, true), engine = run(10, true);
    const size_t swap = 2000, fade = 480;
    double shapeError = 0;
    std::vector<float> equalPower = engine;
    for (size_t n = 0; n < fade; ++n) {
        const double g = 0.5 - 0.5 * std::cos(M_PI * double(n + 1) / double(fade));
        const size_t i = swap + n;
        shapeError =
            std::max(shapeError, std::fabs(engine[i] - ((1 - g) * before[i] + g * after[i])));
        const double t = M_PI / 2 * double(n + 1) / double(fade);
        equalPower[i] = static_cast<float>(std::cos(t) * before[i] + std::sin(t) * after[i]);
    }
    CHECK(shapeError < 1e-6);
    // Levels over the middle of the fade, against the louder of old and new there.
    auto levelDb = [&](const std::vector<float>& x) {
        return 20 * std::log10(rms(x.data() + swap + fade / 4, fade / 2));
    };
    const double reference = std::max(levelDb(before), levelDb(after));
    const double raised = levelDb(engine) - reference, power = levelDb(equalPower) - reference;
    WARN("mid-fade level against the louder program: raised cosine "
         << raised << " dB, equal power +" << power << " dB");
    CHECK(raised <= 0.1);
    CHECK(power >= 1.5);
}

TEST_CASE("a commit during another's crossfade swaps at once, and nested fades stay smooth",
          "[engine][swap][xfade]") {
    OfflineRig rig; // 10 ms fades, 256-frame blocks; commits 2.5 ms apart land mid-fade
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(4000);
    std::vector<size_t> swaps;
    const char* steps[] = {
        "/patch/create osc2 simple_sine\n/mod/osc2/freq 662\n/mod/osc2/gain 0.1\n/patch/commit\n",
        "/patch/create osc3 simple_sine\n/mod/osc3/freq 881\n/mod/osc3/gain 0.05\n/patch/commit\n",
        "/patch/delete osc2\n/patch/commit\n"};
    for (const char* step : steps) {
        swaps.push_back(rig.position());
        rig.apply(step); // fails on a prime timeout: no swap may wait for a fade
        rig.render(120);
    }
    rig.render(4000);
    const auto marks = rig.engine->swapSamples(1);
    REQUIRE(marks.size() == 3);
    for (size_t i = 0; i < 3; ++i) CHECK(marks[i].sample == swaps[i]); // each at its own sample
    CHECK(rig.engine->status().crossfades == 3);
    for (size_t s : swaps) {
        const EventClick c = measureClickAt(rig.out, s);
        INFO("swap at " << s << ": " << c.ratio() << " x");
        CHECK(c.ratio() <= 3);
    }
    // Afterwards only the last patch plays: osc1 and osc3.
    const auto tail = rig.slice(rig.out.size() - 2000, rig.out.size());
    CHECK(dftMagnitude(tail, 48000, 662) < 1e-3);
    CHECK(dftMagnitude(tail, 48000, 881) == Approx(0.05 / 4).epsilon(0.02));
}

TEST_CASE("commits faster than the fade never wait, and what plays settles on the last",
          "[engine][swap][xfade]") {
    OfflineRig rig;
    rig.apply("/patch/create osc1 simple_sine\n/patch/commit\n");
    rig.render(4000);
    for (int k = 0; k < 12; ++k) { // 12 commits 1 ms apart: more than kMaxLayers fade at once
        rig.apply(k % 2 == 0 ? "/patch/create x simple_sine\n/mod/x/gain 0.05\n/patch/commit\n"
                             : "/patch/delete x\n/patch/commit\n");
        rig.render(48);
    }
    rig.render(4800);
    CHECK(rig.engine->status().swaps == 13);
    const auto tail = rig.slice(rig.out.size() - 2400, rig.out.size());
    CHECK(peakFrequency(tail, 48000, 300, 1000) == Approx(440).margin(1));
    CHECK(rms(tail) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.01)); // x was deleted last
    for (float v : rig.out) REQUIRE(std::isfinite(v));
}
