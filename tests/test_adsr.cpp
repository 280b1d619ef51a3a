// The ADSR envelope: exact segment timing, sustain, release from any level, retrigger.
#include "modules/descriptor.h"
#include "modules/registry.h"
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr double kRate = 48000;
constexpr double kSamplesPerMs = kRate / 1000;

std::vector<float> render(const std::string& text, double seconds) {
    auto lines = parsePatchText(text);
    if (!lines) FAIL(lines.error().message);
    OfflineRenderOptions opts;
    opts.seconds = seconds;
    opts.sampleRate = float(kRate);
    auto out = renderPatch(*lines, opts);
    if (!out) FAIL(out.error().message);
    return out.take();
}

/// An envelope alone (its input unconnected reads 1.0), gate opened at 0 and `events` after.
std::vector<float> envelope(double a, double d, double s, double r, const std::string& events,
                            double seconds) {
    return render(fmt::format("/patch/create e adsr\n/mod/e/attack {}\n/mod/e/decay {}\n"
                              "/mod/e/sustain {}\n/mod/e/release {}\n/gate/e 1\n/patch/commit\n{}",
                              a, d, s, r, events),
                  seconds);
}

/// First index at or after `from` where pred(x[i]) holds, or x.size().
template <class Pred>
size_t firstWhere(const std::vector<float>& x, size_t from, Pred pred) {
    for (size_t i = from; i < x.size(); ++i)
        if (pred(x[i])) return i;
    return x.size();
}

} // namespace

TEST_CASE("attack decay and release take their times to within a sample", "[adsr]") {
    // Gate open at sample 0, closed at 0.5 s (sample 24000).
    const double attack = 10, decay = 50, sustain = 0.7, release = 200;
    auto x = envelope(attack, decay, sustain, release, "@0.5 /gate/e 0\n", 1.0);
    const size_t off = 24000;

    size_t peak = firstWhere(x, 0, [](float v) { return v >= 1.0f - 1e-6f; });
    CHECK(double(peak) == Approx(attack * kSamplesPerMs).margin(1));
    CHECK(x[peak] == Approx(1.0f).margin(1e-6));
    CHECK(x[peak / 2] == Approx(0.5f).margin(1.0 / (attack * kSamplesPerMs))); // linear

    size_t atSustain = firstWhere(x, peak, [&](float v) { return v <= sustain + 1e-6; });
    CHECK(double(atSustain - peak) == Approx(decay * kSamplesPerMs).margin(1));

    for (size_t i = atSustain; i < off; ++i) REQUIRE(x[i] == Approx(sustain).margin(1e-6));

    size_t silent = firstWhere(x, off, [](float v) { return v <= 0.0f; });
    CHECK(double(silent - off) == Approx(release * kSamplesPerMs).margin(1));
    for (size_t i = silent; i < x.size(); ++i) REQUIRE(x[i] == 0.0f);

    // Linear everywhere: no step anywhere larger than the steepest segment's slope.
    float steepest = float(1.0 / (attack * kSamplesPerMs));
    CHECK(test::largestJump(x, 1, x.size()) <= steepest * 1.001f);
}

TEST_CASE("release from a mid-attack level still takes the release time", "[adsr]") {
    // 100 ms attack, gate closed at 40 ms (sample 1920): the level is 0.4 there.
    auto x = envelope(100, 50, 0.5, 30, "@0.04 /gate/e 0\n", 0.2);
    const size_t off = 1920;
    CHECK(x[off] == Approx(0.4f).margin(1e-3)); // the release starts where the attack was
    CHECK(x[off + 1] < x[off]);
    size_t silent = firstWhere(x, off, [](float v) { return v <= 0.0f; });
    CHECK(double(silent - off) == Approx(30 * kSamplesPerMs).margin(1));
    // Linear from 0.4 to 0 over 1440 samples.
    CHECK(x[off + 720] == Approx(0.2f).margin(1e-3));
}

TEST_CASE("retrigger restarts the attack from the current level, without a jump", "[adsr]") {
    // Gate closed at 0.2 s (level 0.6, sustain), reopened at 0.3 s mid-release (200 ms release:
    // level 0.6 * (1 - 100/200) = 0.3), which attacks back to 1.0 within the attack time.
    auto x = envelope(20, 40, 0.6, 200, "@0.2 /gate/e 0\n@0.3 /gate/e 1\n", 0.5);
    const size_t on = 14400;
    CHECK(x[on - 1] == Approx(0.3f).margin(1e-3));
    CHECK(std::fabs(x[on] - x[on - 1]) < 1e-6f);
    CHECK(x[on + 1] > x[on]);
    size_t peak = firstWhere(x, on, [](float v) { return v >= 1.0f - 1e-6f; });
    CHECK(double(peak - on) == Approx(20 * kSamplesPerMs).margin(1));
    CHECK(test::largestJump(x, on - 10, on + 2000) <= float(0.7 / (20 * kSamplesPerMs)) * 1.001f);
    size_t atSustain = firstWhere(x, peak, [](float v) { return v <= 0.6f + 1e-6f; });
    CHECK(double(atSustain - peak) == Approx(40 * kSamplesPerMs).margin(1));
}

TEST_CASE("with an input the envelope scales it and without one it is the output", "[adsr]") {
    auto alone = envelope(10, 50, 0.7, 200, "", 0.2);
    CHECK(alone.back() == Approx(0.7f).margin(1e-6)); // the envelope itself, for modulation

    auto shaped = render("/patch/create c const\n/mod/c/value 0.5\n/patch/create e adsr\n"
                         "/patch/connect c e\n/gate/e 1\n/patch/commit\n",
                         0.2);
    REQUIRE(shaped.size() == alone.size());
    for (size_t i = 0; i < shaped.size(); i += 97) REQUIRE(shaped[i] == Approx(0.5f * alone[i]));

    auto closed = render("/patch/create e adsr\n/patch/commit\n", 0.1);
    CHECK(test::rms(closed) == 0.0); // gate never opened: silent
}

TEST_CASE("zero times take one sample and the gate follows modulation", "[adsr]") {
    auto x = envelope(0, 0, 0.25, 0, "@0.01 /gate/e 0\n", 0.02);
    CHECK(x[0] == 0.0f);
    CHECK(x[1] == 1.0f);
    CHECK(x[2] == 0.25f);
    CHECK(x[480] == 0.25f);
    CHECK(x[481] == 0.0f);

    // A square lfo on the gate: opens on the rising half, releases on the falling one.
    auto y = render("/patch/create l lfo\n/mod/l/freq 10\n/mod/l/shape square\n"
                    "/patch/create e adsr\n/mod/e/attack 1\n/mod/e/decay 1\n/mod/e/release 1\n"
                    "/patch/connect l e:gate\n/patch/commit\n",
                    0.2);
    CHECK(y[2000] == Approx(0.7f).margin(1e-6)); // open half of the first cycle: sustaining
    CHECK(y[4700] == 0.0f);                      // closed half: released
    CHECK(y[7200] == Approx(0.7f).margin(1e-6)); // open again
}

TEST_CASE("prepare once per block, then process, gives the bits tick gives every sample",
          "[adsr]") {
    // The settled path (module_abi.h): prepare with the block's gate, then process per sample.
    // Its held flag skips the stage logic in sustain and idle; every sample and the state must
    // still be what tick, the full update, makes, through every stage and gate edge, with the
    // sustain input moving (it is read per sample) and blocks of irregular lengths.
    const ModuleDescriptor* d = findModule("adsr");
    REQUIRE(d != nullptr);
    REQUIRE(d->hasPrepare());
    const InstanceConfig cfg;
    const std::size_t size = d->stateSize(cfg);
    std::vector<std::byte> byTick(size), byBlock(size);
    d->init(byTick.data(), cfg, nullptr);
    d->init(byBlock.data(), cfg, nullptr);
    const KernelContext ctx{48000.0f, 1.0f / 48000.0f};
    // in, attack, decay, sustain, release (ms), gate: short segments so every stage is crossed.
    float in[6] = {0.5f, 2.0f, 3.0f, 0.6f, 4.0f, 0.0f};
    const float gates[] = {0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0};
    const uint32_t lengths[] = {1, 64, 17, 200, 333, 64, 5, 300, 48, 100, 257, 64, 500, 64};
    uint32_t sample = 0, blocks = 0;
    for (float gate : gates) {
        for (uint32_t frames : lengths) {
            in[5] = gate;
            d->prepare(byBlock.data(), in, &ctx);
            for (uint32_t f = 0; f < frames; ++f, ++sample) {
                in[3] = 0.6f + 0.1f * std::sin(0.001f * float(sample));
                float a = 0, b = 0;
                d->tick(byTick.data(), in, &a, &ctx);
                d->process(byBlock.data(), in, &b, &ctx);
                REQUIRE(std::memcmp(&a, &b, sizeof a) == 0);
            }
            // Every word but the last, the held flag: only prepare writes it, and tick's
            // prepare ran on the block's last sample, the other at its first.
            REQUIRE(std::memcmp(byTick.data(), byBlock.data(), size - sizeof(float)) == 0);
            ++blocks;
        }
    }
    CHECK(blocks == std::size(gates) * std::size(lengths));
}
