// The examples a user renders first sound as their comments say: the plucked string plays A3, E4,
// C4 and A4 in tune (spectral peaks within 1 Hz), and neither it nor the bass sequence carries a
// DC offset (a speaker cone pushed off centre, and clicks when such a patch starts or stops).
#include "runtime/offline_render.h"
#include "runtime/patch_player.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <numeric>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr double kRate = 48000;

std::vector<float> render(const std::string& name, double seconds) {
    auto script = loadPatchFile(std::string(CHRONUS_SOURCE_DIR) + "/examples/" + name);
    if (!script) FAIL(script.error().message);
    OfflineRenderOptions o;
    o.seconds = seconds;
    auto out = renderPatch(script.take(), o);
    if (!out) FAIL(out.error().message);
    return *out;
}

double mean(const std::vector<float>& x) {
    return std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
}

std::vector<float> window(const std::vector<float>& x, double from, double to) {
    return {x.begin() + static_cast<long>(from * kRate), x.begin() + static_cast<long>(to * kRate)};
}

} // namespace

TEST_CASE("pluck_string plays A3, E4, C4 and A4 within 1 Hz, without DC", "[examples][sound]") {
    const std::vector<float> x = render("pluck_string.patch", 3.2);
    // Each pluck sounds for 0.8 s; its pitch is read from 0.1 s after the pluck (the string has
    // settled on its new delay) for half a second.
    const struct {
        const char* note;
        double at, hz;
    } plucks[] = {
        {"A3", 0.0, 220.0}, {"E4", 0.81, 329.63}, {"C4", 1.61, 261.63}, {"A4", 2.41, 440.0}};
    for (const auto& p : plucks) {
        const double peak =
            test::peakFrequency(window(x, p.at + 0.1, p.at + 0.6), kRate, p.hz * 0.8, p.hz * 1.2);
        INFO(p.note << ": peak " << peak << " Hz, expected " << p.hz);
        CHECK(peak == Approx(p.hz).margin(1.0));
    }
    INFO("mean " << mean(x) << ", RMS " << test::rms(x));
    CHECK(std::fabs(mean(x)) < 0.002);
}

TEST_CASE("bass_sequence has no DC offset", "[examples][sound]") {
    const std::vector<float> x = render("bass_sequence.patch", 4.0);
    INFO("mean " << mean(x) << ", RMS " << test::rms(x));
    CHECK(test::rms(x) > 0.02);
    CHECK(std::fabs(mean(x)) < 0.002);
}
