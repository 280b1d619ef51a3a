// Oscillators, noise and lfo rendered through the interpreter, measured against their definitions.
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr double kRate = 48000;

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

std::vector<float> oscillator(const std::string& type, double freq, double seconds) {
    return render(fmt::format("/patch/create o {}\n/mod/o/freq {}\n/mod/o/gain 1\n/patch/commit\n",
                              type, freq),
                  seconds);
}

/// Power at the aliases of a periodic signal at `freq` that fold back below `below` Hz: harmonics
/// above Nyquist (up to the 20th multiple of the rate), skipping any that land within `guard` Hz
/// of a true harmonic (which would be measured instead).
double aliasPower(const std::vector<float>& x, double freq, double below, double guard = 40) {
    const double nyquist = kRate / 2;
    std::vector<double> seen;
    double power = 0;
    for (int k = 1; k * freq < 20 * kRate; ++k) {
        double f = std::fmod(k * freq, kRate);
        if (k * freq < nyquist) continue; // a true harmonic
        if (f > nyquist) f = kRate - f;
        bool clash = f < guard || f > nyquist - guard || f > below;
        for (int h = 1; h * freq < nyquist; ++h) clash = clash || std::fabs(f - h * freq) < guard;
        for (double s : seen) clash = clash || std::fabs(f - s) < 1;
        if (clash) continue;
        seen.push_back(f);
        double m = test::dftMagnitude(x, kRate, f);
        power += m * m;
    }
    return power;
}

/// Naive (aliasing) versions of the oscillators, with the same phase convention.
std::vector<float> naive(const std::string& type, double freq, size_t n) {
    std::vector<float> x(n);
    double p = 0;
    for (size_t i = 0; i < n; ++i) {
        double v = 0;
        if (type == "saw") v = 2 * p - 1;
        if (type == "square") v = p < 0.5 ? 1 : -1;
        if (type == "triangle") v = 1 - 4 * std::fabs(std::fmod(p + 0.25, 1.0) - 0.5);
        x[i] = float(v);
        p = std::fmod(p + freq / kRate, 1.0);
    }
    return x;
}

} // namespace

TEST_CASE("every oscillator's spectral peak is within 1 Hz of its freq", "[osc]") {
    for (std::string type : {"simple_sine", "saw", "square", "triangle"}) {
        for (double freq : {440.0, 1234.5}) {
            auto x = oscillator(type, freq, 8192 / kRate);
            double peak = test::peakFrequency(x, kRate, freq - 200, freq + 200);
            INFO(type << " at " << freq << " Hz peaks at " << peak << " Hz");
            CHECK(std::fabs(peak - freq) < 1.0);
        }
    }
}

TEST_CASE("band-limited oscillators alias far less than naive ones", "[osc][alias]") {
    // 5117 Hz at 48 kHz: harmonics from the 5th up fold back, between the true ones. Alias power
    // relative to the fundamental, against a naive oscillator generated here: over the whole band,
    // and below the fundamental, where inharmonic aliases are most audible. Margins are the
    // measured improvement less 3 dB (whole band) and 6 dB (below; measured, whole band / below
    // 5117 Hz: saw 15.0 / 52.4 dB, square 13.3 / 56.4 dB, triangle 10.3 / 54.9 dB).
    const double freq = 5117;
    const size_t n = 16384;
    struct Case {
        const char* type;
        double minDbAll, minDbLow;
    };
    for (Case c : {Case{"saw", 12, 46}, Case{"square", 10, 50}, Case{"triangle", 7, 48}}) {
        auto bl = oscillator(c.type, freq, double(n) / kRate);
        auto nv = naive(c.type, freq, n);
        double fundamentalBl = test::dftMagnitude(bl, kRate, freq);
        double fundamentalNv = test::dftMagnitude(nv, kRate, freq);
        auto relDb = [&](const std::vector<float>& x, double fundamental, double below) {
            return 10 * std::log10(aliasPower(x, freq, below) / (fundamental * fundamental));
        };
        double allBl = relDb(bl, fundamentalBl, kRate), allNv = relDb(nv, fundamentalNv, kRate);
        double lowBl = relDb(bl, fundamentalBl, freq), lowNv = relDb(nv, fundamentalNv, freq);
        INFO(c.type << ": aliases " << allBl << " dB (naive " << allNv << " dB), below the "
                    << "fundamental " << lowBl << " dB (naive " << lowNv << " dB)");
        CHECK(allNv - allBl > c.minDbAll);
        CHECK(lowNv - lowBl > c.minDbLow);
    }
}

TEST_CASE("oscillators stay in range and start at zero", "[osc]") {
    for (std::string type : {"saw", "square", "triangle"}) {
        auto x = oscillator(type, 3000, 0.05);
        INFO(type);
        CHECK(std::fabs(x[0]) < 1e-6f);
        float peak = 0;
        for (float v : x) peak = std::fmax(peak, std::fabs(v));
        CHECK(peak < 1.2f); // PolyBLEP overshoots a little near the edges
        CHECK(peak > 0.8f);
    }
}

TEST_CASE("pulse width sets the duty cycle", "[osc]") {
    auto x = render("/patch/create o pulse\n/mod/o/freq 100\n/mod/o/gain 1\n/mod/o/width 0.25\n"
                    "/patch/commit\n",
                    0.5);
    double mean = 0;
    for (float v : x) mean += v;
    mean /= double(x.size());
    CHECK(mean == Approx(2 * 0.25 - 1).margin(0.01)); // a pulse's mean is 2w - 1
}

TEST_CASE("noise is deterministic per id and seed and is zero-mean uniform white noise",
          "[osc][noise]") {
    auto noise = [](const std::string& id, const std::string& seed) {
        return render(
            fmt::format("/patch/create {0} noise {1}\n/mod/{0}/gain 1\n/patch/commit\n", id, seed),
            1.0);
    };
    auto a = noise("n1", ""), again = noise("n1", ""), b = noise("n2", "");
    CHECK(a == again);
    CHECK(a != b);
    auto s7 = noise("x", "7"), s7other = noise("y", "7"), s8 = noise("x", "8");
    CHECK(s7 == s7other); // an explicit seed wins over the id
    CHECK(s7 != s8);
    CHECK(noise("n1", "0") == a); // seed 0 means "from the id"

    for (const auto* x : {&a, &b, &s7}) {
        double mean = 0, lag1 = 0;
        for (size_t i = 0; i < x->size(); ++i) {
            mean += (*x)[i];
            if (i > 0) lag1 += double((*x)[i]) * (*x)[i - 1];
        }
        mean /= double(x->size());
        double rms = test::rms(*x);
        lag1 /= double(x->size()) * rms * rms;
        // 48000 samples: the mean's standard error is 0.0026, the RMS's about 0.1 %, lag-1
        // correlation's 0.0046; margins are ~5 standard errors.
        CHECK(std::fabs(mean) < 0.015);
        CHECK(rms == Approx(1 / std::sqrt(3.0)).epsilon(0.01));
        CHECK(std::fabs(lag1) < 0.025);
        float lo = 0, hi = 0;
        for (float v : *x) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
        CHECK(lo >= -1.0f);
        CHECK(hi < 1.0f);
    }
}

TEST_CASE("lfo shapes and depth", "[osc][lfo]") {
    // 4 Hz: one cycle is 12000 samples, so sample 1500k is phase k/8. Every shape crosses zero
    // rising at phase 0 (the square is high from there).
    struct Case {
        const char* shape;
        double start, eighth, threeEighths, threeQuarters; ///< the wave at phases 0, 1/8, 3/8, 3/4
    };
    const double depth = 3;
    const double r = std::sqrt(0.5);
    for (Case c : {Case{"sine", 0, r, r, -1}, Case{"triangle", 0, 0.5, 0.5, -1},
                   Case{"saw", 0, 0.25, 0.75, -0.5}, Case{"square", 1, 1, 1, -1}}) {
        auto x = render(fmt::format("/patch/create l lfo\n/mod/l/freq 4\n/mod/l/depth {}\n"
                                    "/mod/l/shape {}\n/patch/commit\n",
                                    depth, c.shape),
                        0.5);
        INFO(c.shape);
        CHECK(x[0] == Approx(depth * c.start).margin(1e-6));
        CHECK(x[1500] == Approx(depth * c.eighth).margin(1e-3));
        CHECK(x[4500] == Approx(depth * c.threeEighths).margin(1e-3));
        CHECK(x[9000] == Approx(depth * c.threeQuarters).margin(1e-3));
        float peak = 0;
        for (float v : x) peak = std::fmax(peak, std::fabs(v));
        CHECK(peak == Approx(depth).epsilon(1e-3));
    }
}
