// Tiered compiles through the engine: a commit swaps in a quickly compiled program, then its fully
// optimised version compiled in the background, through the same prime and swap. Both tiers run
// the interpreter's semantics bit for bit, so the engine's whole output (commits, parameter
// changes, timed events, the upgrade swaps wherever they land) equals an interpreter engine's,
// sample for sample; a later tier that fails leaves the first one playing.
#include "compiler/jit/jit.h"
#include "compiler/program_factory.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <atomic>
#include <fmt/format.h>

using namespace chronus;
using namespace chronus::test;

namespace {

/// A bank of `voices` voices as patch text; the sample rate of the rigs below makes its shapes
/// new to this process, so the first commit really compiles a quick tier.
std::string voiceBank(int first, int voices) {
    std::string text;
    for (int v = first; v < first + voices; ++v)
        text += fmt::format("/patch/create osc{0} saw\n/patch/create env{0} adsr\n"
                            "/patch/create filt{0} biquad_filter\n/patch/connect osc{0} env{0}\n"
                            "/patch/connect env{0} filt{0}\n/mod/osc{0}/freq {1}\n"
                            "/mod/filt{0}/cutoff {2}\n/gate/env{0} 1\n",
                            v, 90 + 17 * v, 700 + 60 * v);
    return text;
}

/// Runs the same session on `rig`: commits, a parameter storm, timed events, renders.
void session(OfflineRig& rig, std::vector<CommitReport>* reports) {
    auto commit = [&] {
        CommitReport r = rig.commit();
        INFO(r.reason);
        REQUIRE(r.ok);
        if (reports != nullptr) reports->push_back(r);
    };
    rig.apply(voiceBank(0, 11));
    commit();
    for (int k = 0; k < 40; ++k) { // the optimised tier lands somewhere in here
        rig.render(480);
        REQUIRE(rig.engine->setParam("osc3", "freq", 100.0f + float(k)).ok());
    }
    const uint64_t now = rig.engine->status().samplePosition;
    REQUIRE(rig.engine->setParamAt(now + 3000, "filt5", "cutoff", 3000).ok());
    REQUIRE(rig.engine->setParamAt(now + 5000, "env2", "gate", 0).ok());
    rig.apply(voiceBank(11, 6)); // more voices of the known shape, and a commit
    commit();
    for (int k = 0; k < 40; ++k) rig.render(480);
}

constexpr float kRate = 44117; // shapes of this rate are compiled by this file only

} // namespace

TEST_CASE("tiered commits sound exactly like the interpreter, upgrades and all",
          "[jit][tiers][engine]") {
    OfflineRig reference({.sampleRate = kRate, .factory = interpreterFactory(), .tiered = false});
    session(reference, nullptr);

    OfflineRig tiered({.sampleRate = kRate, .factory = defaultFactory(), .tiered = true});
    std::vector<CommitReport> reports;
    session(tiered, &reports);
    tiered.settleTiers();
    tiered.render(4800);
    reference.render(4800);

    REQUIRE(reports.size() == 2);
    CHECK(reports[0].optimizing); // a new shape: the quick tier first
    const EngineStatus s = tiered.engine->status();
    CHECK(s.upgrades >= 1);
    CHECK(s.upgradeFailures == 0);
    CHECK_FALSE(s.optimizing);
    REQUIRE(tiered.out.size() == reference.out.size());
    size_t firstDiff = tiered.out.size();
    for (size_t i = 0; i < tiered.out.size() && firstDiff == tiered.out.size(); ++i)
        if (tiered.out[i] != reference.out[i]) firstDiff = i;
    INFO("first difference at sample " << firstDiff);
    CHECK(firstDiff == tiered.out.size());
    CHECK(rms(tiered.out) > 1e-3);
    // And no click where the swaps landed (bit-exact says so; the meter agrees).
    for (const SwapMark& m : tiered.engine->swapSamples(0)) {
        INFO("swap " << m.index << " at sample " << m.sample);
        if (m.sample < 600 || m.sample + 600 > tiered.out.size()) continue;
        CHECK(largestJump(tiered.out, m.sample - 300, m.sample + 300) <=
              largestJump(reference.out, m.sample - 300, m.sample + 300));
    }
}

TEST_CASE("a commit of known shapes is final at once, /patch/ir works on every tier",
          "[jit][tiers][engine]") {
    OfflineRig rig({.sampleRate = kRate + 1, .factory = defaultFactory(), .tiered = true});
    rig.apply(voiceBank(0, 3));
    CommitReport first = rig.commit();
    REQUIRE(first.ok);
    CHECK(first.optimizing);
    std::string ir;
    REQUIRE(
        rig.engine->apply(IrCommand{"optimized"}, &ir).ok()); // the quick tier's, made on demand
    CHECK_THAT(ir, Catch::Contains("(O0)"));
    rig.settleTiers();
    REQUIRE(rig.engine->apply(IrCommand{"optimized"}, &ir).ok());
    CHECK_THAT(ir, Catch::Contains("(O2)"));
    rig.apply(voiceBank(3, 1)); // one more voice of the same shape
    CommitReport second = rig.commit();
    REQUIRE(second.ok);
    CHECK_FALSE(second.optimizing); // every shape is in the cache at O2
    CHECK(rig.engine->status().upgrades == 1);
}

namespace {

/// A JIT program whose next tier is whatever `next` makes.
class TierStub final : public Program {
public:
    TierStub(std::unique_ptr<Program> inner, TierCompile next)
        : inner_(std::move(inner)), next_(std::move(next)) {}
    const Schedule& schedule() const override { return inner_->schedule(); }
    void render(const std::atomic<float>* params, std::byte* state, float* out,
                uint32_t frames) noexcept override {
        inner_->render(params, state, out, frames);
    }
    std::string_view kind() const override { return inner_->kind(); }
    bool finalTier() const override { return false; }
    TierCompile nextTier() const override { return next_; }

private:
    std::unique_ptr<Program> inner_;
    TierCompile next_;
};

} // namespace

TEST_CASE("a later tier that fails leaves the first tier playing", "[jit][tiers][engine]") {
    for (bool compileFails : {true, false}) {
        DYNAMIC_SECTION((compileFails ? "its compile fails" : "it runs away in warm-up")) {
            auto quick = programFactory("jit", 0);
            REQUIRE(quick.ok());
            auto factory = [&](const Schedule& s) -> Expected<std::unique_ptr<Program>> {
                auto p = (*quick)(s);
                if (!p) return p.error();
                Schedule copy = s;
                TierCompile next = [compileFails, copy]() -> Expected<std::unique_ptr<Program>> {
                    if (compileFails) return makeError("simulated optimiser failure");
                    auto good = makeInterpreter(copy);
                    return std::unique_ptr<Program>(new PoisonedProgram(std::move(good), 1e6f));
                };
                return std::unique_ptr<Program>(new TierStub(p.take(), next));
            };
            OfflineRig rig({.factory = factory, .tiered = true});
            rig.apply("/patch/create osc1 simple_sine\n");
            CommitReport r = rig.commit();
            REQUIRE(r.ok);
            CHECK(r.optimizing);
            for (int k = 0; k < 200 && rig.engine->status().upgradeFailures == 0; ++k) {
                rig.render(256);
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            const EngineStatus s = rig.engine->status();
            CHECK(s.upgradeFailures == 1);
            CHECK(s.upgrades == 0);
            CHECK(s.failures == 0);
            CHECK(s.activeSeq == 1);
            rig.render(9600);
            for (float v : rig.out) REQUIRE(std::isfinite(v));
            auto tail = rig.slice(rig.position() - 4800, rig.position());
            CHECK(peakFrequency(tail, 48000, 300, 1000) == Approx(440).margin(1));
            CHECK(rms(tail) == Approx(0.2 / std::sqrt(2.0)).epsilon(0.02));
        }
    }
}

TEST_CASE("tiers off: one optimised compile per commit, nothing in the background",
          "[jit][tiers][engine]") {
    auto factory = engineFactory("", false);
    REQUIRE(factory.ok());
    OfflineRig rig({.sampleRate = kRate + 2, .factory = factory.take(), .tiered = false});
    rig.apply(voiceBank(0, 2));
    CommitReport r = rig.commit();
    REQUIRE(r.ok);
    CHECK_FALSE(r.optimizing);
    rig.render(4800);
    CHECK(rig.engine->status().upgrades == 0);
    CHECK_FALSE(rig.engine->status().optimizing);
}
