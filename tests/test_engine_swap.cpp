// The swap itself: state carried over exactly (phase continuous across commits), no click with or
// without a crossfade, parameter writes made during a compile all arrive, and failing or runaway
// commits leave the old patch playing.
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
