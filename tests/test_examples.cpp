// Every examples/*.patch, rendered offline as `chronus render` plays it: through the block
// interpreter (the reference) to finite, audible audio; and through the JIT (the tiered compile
// the engine uses by default, and O2 and O0 alone), sample by sample the same as the reference.
// An example that does not render fails, whichever engine refuses it. And the scripts in
// examples/osc/, written out as patch files (CHRONUS_AS_PATCH, examples/osc/_common.sh) and
// rendered with the defaults: every commit and parameter change after the first commit without a
// click (runtime/click_meter.h: within 3x the steady state's second difference on both sides),
// and the scripts that promise it without a silence.
//
// Tolerance (test_jit_differential.cpp's): max |jit - interp| <= 1e-6 * max(RMS(interp), 1e-3),
// non-finite in the same samples; the engines are expected to agree bit for bit.
#include "compiler/program_factory.h"
#include "runtime/click_meter.h"
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace chronus;

namespace {

std::vector<std::filesystem::path> examplePatches() {
    std::vector<std::filesystem::path> patches;
    for (const auto& entry : std::filesystem::directory_iterator(CHRONUS_SOURCE_DIR "/examples"))
        if (entry.path().extension() == ".patch") patches.push_back(entry.path());
    std::sort(patches.begin(), patches.end());
    return patches;
}

ProgramFactory factory(std::string_view engine, int optLevel = 2, bool tiered = false) {
    auto f = programFactory(engine, optLevel, tiered);
    INFO(engine << " O" << optLevel << (f.ok() ? std::string() : ": " + f.error().message));
    REQUIRE(f.ok());
    return *f;
}

/// Audio in for an example with an `input` module (examples/wav_effect.patch): what README's
/// command feeds it, examples/pluck_string.patch rendered (4 s).
std::shared_ptr<const InputAudio> exampleInput() {
    static const std::shared_ptr<const InputAudio> in = [] {
        auto lines = readPatchFile(CHRONUS_SOURCE_DIR "/examples/pluck_string.patch");
        REQUIRE(lines.ok());
        OfflineRenderOptions o;
        o.seconds = 4;
        o.factory = factory("interp");
        auto out = renderPatch(*lines, o);
        REQUIRE(out.ok());
        auto a = std::make_shared<InputAudio>();
        a->channels.push_back(out.take());
        return a;
    }();
    return in;
}

std::vector<float> render(const std::vector<PatchLine>& lines, OfflineRenderOptions opts) {
    opts.input = exampleInput();
    auto out = renderPatch(lines, opts);
    if (!out) FAIL("does not render: " << out.error().message);
    return out.take();
}

struct Diff {
    double maxAbs = 0, scale = 0;
    size_t firstBad = 0, mismatchedNonFinite = 0;
    bool bitExact = true;
    bool ok() const { return mismatchedNonFinite == 0 && maxAbs <= 1e-6 * scale; }
};

Diff compare(const std::vector<float>& ref, const std::vector<float>& got) {
    Diff d;
    REQUIRE(ref.size() == got.size());
    double acc = 0;
    size_t finite = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        d.bitExact = d.bitExact && std::memcmp(&ref[i], &got[i], sizeof(float)) == 0;
        const bool a = std::isfinite(ref[i]), b = std::isfinite(got[i]);
        if (a != b) {
            if (d.mismatchedNonFinite++ == 0) d.firstBad = i;
            continue;
        }
        if (!a) continue;
        acc += double(ref[i]) * ref[i];
        ++finite;
        const double diff = std::fabs(double(ref[i]) - got[i]);
        if (diff > d.maxAbs) {
            d.maxAbs = diff;
            d.firstBad = i;
        }
    }
    d.scale = std::max(finite ? std::sqrt(acc / double(finite)) : 0.0, 1e-3);
    return d;
}

} // namespace

TEST_CASE("every example patch renders finite audible audio through the interpreter",
          "[examples]") {
    const auto patches = examplePatches();
    REQUIRE(patches.size() >= 3);
    OfflineRenderOptions opts;
    opts.seconds = 4;
    opts.factory = factory("interp");
    for (const auto& path : patches) {
        INFO(path.filename().string());
        auto lines = readPatchFile(path.string());
        if (!lines) FAIL(lines.error().message);
        const std::vector<float> out = render(*lines, opts);
        const bool finite =
            std::all_of(out.begin(), out.end(), [](float v) { return std::isfinite(v); });
        const double level = test::rms(out);
        float peak = 0;
        for (float v : out) peak = std::fmax(peak, std::fabs(v));
        INFO("RMS " << level << ", peak " << peak);
        CHECK(finite);
        CHECK(level > 0.001);
        CHECK(peak < 4.0f); // loud is allowed, runaway is not
    }
}

TEST_CASE("every example patch sounds the same through the JIT and the interpreter",
          "[examples][jit][differential]") {
    const auto patches = examplePatches();
    REQUIRE(patches.size() >= 3);
    struct Jit {
        const char* name;
        ProgramFactory make;
    };
    const std::vector<Jit> jits = {
        {"the tiered JIT (the engine's default)", factory("jit", 2, true)},
        {"the JIT at O2", factory("jit", 2)},
        {"the JIT at O0", factory("jit", 0)}};
    int bitExact = 0, compared = 0;
    for (const auto& path : patches) {
        INFO(path.filename().string());
        auto lines = readPatchFile(path.string());
        if (!lines) FAIL(lines.error().message);
        OfflineRenderOptions opts;
        opts.seconds = 2.5;
        opts.frames = 200; // not a divisor of the JIT's block, on purpose
        opts.factory = factory("interp");
        const std::vector<float> ref = render(*lines, opts);
        CHECK(test::rms(ref) > 1e-4); // the examples make sound
        for (const Jit& jit : jits) {
            INFO(jit.name);
            opts.factory = jit.make;
            const Diff d = compare(ref, render(*lines, opts));
            INFO("max diff " << d.maxAbs << " at sample " << d.firstBad << ", rms " << d.scale
                             << ", non-finite mismatches " << d.mismatchedNonFinite);
            CHECK(d.ok());
            bitExact += d.bitExact ? 1 : 0;
            ++compared;
        }
    }
    WARN(patches.size() << " examples, " << compared << " JIT renders, " << bitExact
                        << " bit-exact");
}

TEST_CASE("the scripts in examples/osc keep their promises: no click, no silence",
          "[examples][clicks]") {
    struct Script {
        const char* name;
        bool neverSilent; ///< its comment promises a tone throughout
    };
    for (const Script& script : {Script{"test1_single_osc", true},
                                 {"test2_osc_adsr", false},
                                 {"test3_full_chain", true},
                                 {"test4_multi_commit", true},
                                 {"multi_commit_cycle", true}}) {
        INFO(script.name);
        const std::string patch = test::tempPath(script.name, ".patch");
        const std::string log = test::tempPath(script.name, ".log");
        const pid_t pid = test::spawnProcess(
            {"env", "CHRONUS_AS_PATCH=" + patch, "bash",
             fmt::format("{}/examples/osc/{}.sh", CHRONUS_SOURCE_DIR, script.name)},
            log);
        REQUIRE(pid > 0);
        const int rc = test::waitExit(pid, 30);
        INFO(test::readText(log));
        REQUIRE(rc == 0);
        auto lines = readPatchFile(patch);
        std::remove(patch.c_str());
        std::remove(log.c_str());
        REQUIRE(lines.ok());
        // The events: every commit and parameter change after the first commit. Gates are the
        // patch's own (an envelope opening from silence has no steady state before it).
        std::optional<double> first;
        std::vector<double> events;
        double last = 0;
        for (const PatchLine& l : *lines) {
            const double t = l.time.value_or(last);
            last = t;
            const bool commit = l.address == "/patch/commit";
            if (first && (commit || l.address.starts_with("/mod/"))) events.push_back(t);
            if (commit && !first) first = t;
        }
        REQUIRE(first);
        OfflineRenderOptions opts; // chronus render's defaults
        opts.seconds = last + 1;
        auto out = renderPatch(*lines, opts);
        REQUIRE(out.ok());
        const auto rate = double(opts.sampleRate);
        for (double t : events) {
            const EventClick c =
                measureClickAt(*out, static_cast<uint64_t>(std::llround(t * rate)));
            INFO("event at " << t << " s: " << c.ratio() << " x");
            CHECK(c.ratio() <= 3);
        }
        if (script.neverSilent) {
            double quietest = 1;
            for (auto i = static_cast<size_t>(*first * rate); i + 480 <= out->size(); i += 480)
                quietest = std::min(quietest, test::rms(out->data() + i, 480));
            INFO("quietest 10 ms: RMS " << quietest);
            CHECK(quietest > 0.001); // -60 dB: a dropout, not a quiet filter
        }
    }
}
