// Discrete parameters crossfade inside their kernel (modules/choice_fade.h): a filter's mode and
// an LFO's shape, switched while they play, move from the old output to the new one along the
// fade's curve over dsp::kChoiceFadeMs and then play the new choice bit for bit, as if it had
// always been set. And every descriptor says what a change of each parameter does.
#include "modules/choice_fade.h"
#include "modules/registry.h"
#include "runtime/click_meter.h"
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr float kRate = 48000;
constexpr uint64_t kSwitch = 12011; ///< the sample a choice changes at (@0.25022917 s)

std::vector<float> render(const std::string& text, double seconds) {
    auto lines = parsePatchText(text);
    if (!lines) FAIL(lines.error().message);
    OfflineRenderOptions opts;
    opts.seconds = seconds;
    opts.factory = test::interpreterFactory();
    auto out = renderPatch(*lines, opts);
    if (!out) FAIL(out.error().message);
    return out.take();
}

std::string at(uint64_t sample) {
    return fmt::format("@{:.17g}", double(sample) / kRate);
}

/// The fade's weight of the old choice `k` samples after the change (k = 0: the change's own
/// sample), as the kernel accumulates it.
float remainingAfter(uint64_t k) {
    const float step = dsp::choiceFadeStep(1.0f / kRate);
    float t = 0;
    for (uint64_t i = 0; i < k; ++i) t = dsp::choiceFadeAdvance(t, step);
    return dsp::choiceFadeRemaining(t);
}

bool bitEqual(float a, float b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// `switched` follows `from` before kSwitch, moves from it to `to` along the fade's curve, and
/// is `to` bit for bit once the fade is over.
void checkFade(const std::vector<float>& from, const std::vector<float>& to,
               const std::vector<float>& switched) {
    REQUIRE(from.size() == switched.size());
    const auto fade = static_cast<uint64_t>(std::ceil(dsp::kChoiceFadeMs * kRate / 1000));
    for (uint64_t n = 0; n < kSwitch; ++n) REQUIRE(bitEqual(switched[n], from[n]));
    double worst = 0;
    for (uint64_t n = kSwitch; n < kSwitch + fade; ++n) {
        const float h = remainingAfter(n - kSwitch);
        worst = std::max(worst, std::fabs(double(switched[n]) - (h * from[n] + (1 - h) * to[n])));
    }
    CHECK(worst < 2e-6);
    uint64_t firstExact = switched.size();
    for (uint64_t n = switched.size(); n-- > kSwitch;)
        if (!bitEqual(switched[n], to[n]))
            break;
        else
            firstExact = n;
    CHECK(firstExact <= kSwitch + fade + 1);
}

} // namespace

TEST_CASE("every parameter says whether a change of it can click", "[modules][clicks]") {
    for (const ModuleDescriptor* d : allModules())
        for (const ParamDesc& p : d->params) {
            INFO(d->type << ":" << p.name);
            if (!p.choices.empty()) CHECK(p.faded); // a choice never steps the sound
            if (p.faded) CHECK_FALSE(p.smoothed);
            // What is neither smoothed nor faded says what its change does instead.
            CHECK(p.clickSafe() == p.onChange.empty());
        }
}

TEST_CASE("a biquad's mode change crossfades from the old mode's output to the new one's",
          "[biquad][clicks]") {
    const std::string base = "/patch/create n noise\n/mod/n/gain 0.5\n"
                             "/patch/create f biquad_filter\n/mod/f/cutoff 900\n/mod/f/q 2\n"
                             "/patch/connect n f\n";
    for (auto [a, b] : {std::pair{"lp", "hp"}, {"hp", "bp"}, {"bp", "notch"}, {"notch", "lp"}}) {
        DYNAMIC_SECTION(a << " -> " << b) {
            const auto from = render(base + fmt::format("/mod/f/mode {}\n/patch/commit\n", a), 0.5);
            const auto to = render(base + fmt::format("/mod/f/mode {}\n/patch/commit\n", b), 0.5);
            const auto switched = render(base + fmt::format("/mod/f/mode {}\n/patch/commit\n"
                                                            "{} /mod/f/mode {}\n",
                                                            a, at(kSwitch), b),
                                         0.5);
            checkFade(from, to, switched);
        }
    }
}

TEST_CASE("an LFO's shape change crossfades from the old shape to the new one", "[lfo][clicks]") {
    const std::string base = "/patch/create l lfo\n/mod/l/freq 7\n/mod/l/depth 0.5\n";
    for (auto [a, b] : {std::pair{"sine", "triangle"},
                        {"triangle", "saw"},
                        {"saw", "square"},
                        {"square", "sine"}}) {
        DYNAMIC_SECTION(a << " -> " << b) {
            const auto from =
                render(base + fmt::format("/mod/l/shape {}\n/patch/commit\n", a), 0.5);
            const auto to = render(base + fmt::format("/mod/l/shape {}\n/patch/commit\n", b), 0.5);
            const auto switched = render(base + fmt::format("/mod/l/shape {}\n/patch/commit\n"
                                                            "{} /mod/l/shape {}\n",
                                                            a, at(kSwitch), b),
                                         0.5);
            checkFade(from, to, switched);
        }
    }
}

TEST_CASE("a choice changed again mid-fade starts from what plays: no step", "[biquad][clicks]") {
    // A sine through the filter: lp, then hp, then bp 1 ms later (mid-fade), then lp 1 ms later.
    const std::string text =
        fmt::format("/patch/create o simple_sine\n/mod/o/freq 530\n/patch/create f biquad_filter\n"
                    "/mod/f/cutoff 700\n/patch/connect o f\n/patch/commit\n"
                    "{} /mod/f/mode hp\n{} /mod/f/mode bp\n{} /mod/f/mode lp\n",
                    at(kSwitch), at(kSwitch + 48), at(kSwitch + 96));
    const auto x = render(text, 0.5);
    const EventClick c = measureClickAt(x, kSwitch);
    INFO("peak " << c.peak << ", steady " << c.steadyBefore << " / " << c.steadyAfter);
    CHECK(c.ratio() <= 3);
}
