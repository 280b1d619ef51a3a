// The offline backend and `chronus render` through the engine: deterministic, and each commit
// swaps in at its own sample.
#include "runtime/offline_render.h"
#include "runtime/wav_file.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

using namespace chronus;
using namespace chronus::test;

namespace {

std::vector<float> render(const std::string& text, double seconds, double xfadeMs = 0) {
    auto lines = parsePatchText(text);
    REQUIRE(lines.ok());
    OfflineRenderOptions o;
    o.seconds = seconds;
    o.xfadeMs = xfadeMs;
    auto audio = renderPatch(*lines, o);
    INFO((audio.ok() ? std::string() : audio.error().message));
    REQUIRE(audio.ok());
    return audio.take();
}

const char* kTwoCommits =
    "/patch/create osc1 simple_sine\n/patch/commit\n"
    "@0.5 /patch/create osc2 simple_sine\n/mod/osc2/freq 1000\n/patch/commit\n"
    "@0.75 /mod/osc1/freq 550\n";

} // namespace

TEST_CASE("offline renders are identical on every run", "[backend][offline]") {
    for (double xfade : {0.0, 3.0}) {
        const auto a = render(kTwoCommits, 1.0, xfade);
        const auto b = render(kTwoCommits, 1.0, xfade);
        CHECK(a == b);
        CHECK(rms(a) > 0.1); // identical sound, not identical silence
    }
}

TEST_CASE("an offline commit swaps in at its own sample", "[backend][offline]") {
    const auto two = render(kTwoCommits, 0.6);
    const auto one = render("/patch/create osc1 simple_sine\n/patch/commit\n", 0.6);
    // Identical up to sample 24000 (0.5 s); osc2 (sine from phase 0) shows from sample 24001.
    for (size_t i = 0; i <= 24000; ++i) {
        INFO("sample " << i);
        REQUIRE(two[i] == one[i]);
    }
    CHECK(two[24001] != one[24001]);
    CHECK(two[24001] - one[24001] == Approx(0.2 * std::sin(2 * M_PI * 1000 / 48000)).epsilon(1e-4));
}

TEST_CASE("a failed commit fails the render and names the line", "[backend][offline][errors]") {
    auto lines = parsePatchText("/patch/create osc1 simple_sine\n/patch/commit\n");
    REQUIRE(lines.ok());
    OfflineRenderOptions o;
    o.seconds = 0.1;
    o.factory = [](const Schedule&) -> Expected<std::unique_ptr<Program>> {
        return makeError("no JIT today");
    };
    auto audio = renderPatch(*lines, o);
    REQUIRE_FALSE(audio.ok());
    CHECK_THAT(audio.error().message,
               Catch::Contains("line 2: commit failed: compile failed: no JIT today"));
}

TEST_CASE("chronus render takes --engine and --xfade-ms", "[backend][offline][cli]") {
    const std::string patch = std::string(CHRONUS_SOURCE_DIR) + "/examples/test1_single_osc.patch";
    for (const char* engine : {"interp", "jit"}) {
        const std::string wav = tempPath(std::string("render_") + engine, ".wav");
        const std::string log = tempPath("render", ".log");
        pid_t pid = spawnProcess({CHRONUS_BINARY, "render", patch, "-o", wav, "-s", "0.5",
                                  "--engine", engine, "--xfade-ms", "5"},
                                 log);
        REQUIRE(pid > 0);
        const int rc = waitExit(pid, 60);
        INFO(engine << ": " << readText(log));
        REQUIRE(rc == 0);
        auto audio = readWav(wav);
        REQUIRE(audio.ok());
        CHECK(audio->samples.size() == 24000);
        std::vector<float> mid(audio->samples.begin() + 4800, audio->samples.begin() + 9600);
        CHECK(peakFrequency(mid, 48000, 300, 1000) == Approx(440).margin(1));
        std::remove(wav.c_str());
        std::remove(log.c_str());
    }
}
