// dsp_math.h against libm and against its own definitions.
#include "modules/dsp_math.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace chronus;

TEST_CASE("sin2pi is within 1e-6 of sin(2 pi x) over many phases", "[dsp_math]") {
    double worst = 0;
    auto check = [&](float phase) {
        double exact = std::sin(2.0 * M_PI * static_cast<double>(phase));
        worst = std::fmax(worst, std::fabs(double(dsp::sin2pi(phase)) - exact));
    };
    for (int i = -400000; i <= 400000; ++i) check(float(i) * 1e-5f); // [-4, 4], every 1e-5
    for (float p : {0.25f, 0.5f, 0.75f, -0.25f, 1e-8f, 123.456f, -987.125f, 4096.3f}) check(p);
    INFO("largest error " << worst);
    CHECK(worst < 1e-6);
}

TEST_CASE("wrap01 and clampf", "[dsp_math]") {
    CHECK(dsp::wrap01(1.25f) == 0.25f);
    CHECK(dsp::wrap01(-0.25f) == 0.75f);
    CHECK(dsp::clampf(5, 0, 1) == 1);
    CHECK(dsp::clampf(-5, 0, 1) == 0);
}

TEST_CASE("the band-limiting residuals have the shapes they promise", "[dsp_math]") {
    const float dt = 0.1f;
    // PolyBLEP: -1 just after the step, +1 just before, zero elsewhere, continuous between.
    CHECK(dsp::polyBlep(0.0f, dt) == Approx(-1.0f));
    CHECK(dsp::polyBlep(1.0f - 1e-7f, dt) == Approx(1.0f).margin(1e-5));
    CHECK(dsp::polyBlep(0.5f, dt) == 0.0f);
    CHECK(dsp::polyBlep(dt - 1e-6f, dt) == Approx(0.0f).margin(1e-4));
    // The corrected saw 2t-1 - blep is continuous across the drop.
    float before = 2.0f * (1.0f - 1e-6f) - 1.0f - dsp::polyBlep(1.0f - 1e-6f, dt);
    float after = -1.0f - dsp::polyBlep(0.0f, dt);
    CHECK(before == Approx(after).margin(1e-4));
    // PolyBLAMP: symmetric, 1/3 at the corner, zero one sample away, zero-mean-slope pieces.
    CHECK(dsp::polyBlamp(0.0f, dt) == Approx(1.0f / 3.0f));
    CHECK(dsp::polyBlamp(0.05f, dt) == Approx(dsp::polyBlamp(0.95f, dt)).margin(1e-5));
    CHECK(dsp::polyBlamp(0.5f, dt) == 0.0f);
    CHECK(dsp::blepWidth(0.0f) > 0.0f);
    CHECK(dsp::blepWidth(-0.2f) == Approx(0.2f));
    CHECK(dsp::blepWidth(0.9f) == 0.5f);
}
