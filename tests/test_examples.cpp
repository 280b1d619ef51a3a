// Every examples/*.patch renders to finite, audible audio through the interpreter.
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "tests/support/signal_measure.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

using namespace chronus;

TEST_CASE("every example patch renders finite non-silent audio", "[examples]") {
    std::vector<std::filesystem::path> patches;
    for (const auto& entry : std::filesystem::directory_iterator(CHRONUS_SOURCE_DIR "/examples"))
        if (entry.path().extension() == ".patch") patches.push_back(entry.path());
    std::sort(patches.begin(), patches.end());
    REQUIRE(patches.size() >= 3);
    for (const auto& path : patches) {
        INFO(path.filename().string());
        auto lines = readPatchFile(path.string());
        if (!lines) FAIL(lines.error().message);
        OfflineRenderOptions opts;
        opts.seconds = 4;
        auto out = renderPatch(*lines, opts);
        if (!out) FAIL(out.error().message);
        bool finite =
            std::all_of(out->begin(), out->end(), [](float v) { return std::isfinite(v); });
        double level = test::rms(*out);
        float peak = 0;
        for (float v : *out) peak = std::fmax(peak, std::fabs(v));
        INFO("RMS " << level << ", peak " << peak);
        CHECK(finite);
        CHECK(level > 0.001);
        CHECK(peak < 4.0f); // loud is allowed, runaway is not
    }
}
