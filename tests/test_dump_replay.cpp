// What is saved replays as it sounds: a /patch/dump, a `serve --state` file and `serve --patch`
// of either, rendered or played, sound like the patch that was playing.
//
// - Sample-exact where the state can be reproduced: a patch set up at time 0 and its dump
//   render the same samples (the dump is the same patch, and both start from rest).
// - Otherwise alike: a patch that played a while (commits, parameter, choice and gate changes
//   along the way) has state a dump does not hold (oscillator phases, envelope and filter
//   memories, the delay line), so its dump, rendered from rest, is compared with the live
//   recording's continuation once both have settled: the same RMS within 1 % and the same
//   spectrum (magnitude at each tone within 2 %; measured: 0.01 % and 0.4 %).
// And `chronus render` warns about a file that never commits and lines past the end.
#include "runtime/offline_render.h"
#include "runtime/patch_file.h"
#include "runtime/wav_file.h"
#include "tests/support/signal_measure.h"
#include "tests/test_engine_harness.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace chronus;
using namespace chronus::test;

namespace {

constexpr double kRate = 48000;

std::vector<float> render(const std::string& text, double seconds) {
    auto lines = parsePatchText(text);
    if (!lines) FAIL(lines.error().message);
    OfflineRenderOptions opts; // chronus render's defaults
    opts.seconds = seconds;
    auto out = renderPatch(*lines, opts);
    if (!out) FAIL(out.error().message);
    return out.take();
}

std::vector<float> slice(const std::vector<float>& x, double from, double to) {
    const auto a = static_cast<std::ptrdiff_t>(from * kRate);
    const auto b = static_cast<std::ptrdiff_t>(std::min(to * kRate, double(x.size())));
    REQUIRE(a < b);
    return std::vector<float>(x.begin() + a, x.begin() + b);
}

/// `got` sounds like `want`: RMS within 1 %, each tone's magnitude within 2 % of `want`'s.
void checkAlike(const std::vector<float>& want, const std::vector<float>& got,
                const std::vector<double>& tones) {
    INFO("RMS " << rms(got) << " against " << rms(want));
    CHECK(rms(got) == Approx(rms(want)).epsilon(0.01));
    for (double hz : tones) {
        INFO(hz << " Hz: " << dftMagnitude(got, kRate, hz) << " against "
                << dftMagnitude(want, kRate, hz));
        CHECK(dftMagnitude(got, kRate, hz) == Approx(dftMagnitude(want, kRate, hz)).epsilon(0.02));
    }
}

/// A patch that uses every kind of line a dump writes: creation arguments, choices, a gate,
/// modulation, feedback.
const char* const kPatch = "/patch/create osc1 simple_sine\n/mod/osc1/freq 330\n"
                           "/patch/create env1 adsr\n/mod/env1/attack 5\n"
                           "/patch/create filt1 biquad_filter\n/mod/filt1/cutoff 900\n"
                           "/mod/filt1/mode bp\n/mod/filt1/q 2\n"
                           "/patch/create lfo1 lfo\n/mod/lfo1/freq 4\n/mod/lfo1/depth 0.05\n"
                           "/mod/lfo1/shape triangle\n"
                           "/patch/create saw1 saw\n/mod/saw1/freq 110\n/mod/saw1/gain 0.1\n"
                           "/patch/create d1 delay 500\n/mod/d1/time 120\n/mod/d1/feedback 0.2\n"
                           "/patch/create m mix 3\n"
                           "/patch/connect osc1 env1\n/patch/connect env1 filt1\n"
                           "/patch/connect lfo1 osc1:gain\n/patch/connect filt1 m:in1\n"
                           "/patch/connect saw1 d1\n/patch/connect d1 m:in2\n/gate/env1 1\n"
                           "/patch/commit\n";

/// The dump of `text` played in an engine, and what the engine had rendered (`seconds`).
std::string dumpAfter(const std::string& text, double seconds, OfflineRig& rig) {
    rig.apply(text);
    rig.renderSeconds(seconds);
    return rig.engine->dump();
}

/// Runs `chronus ARGS...`; its exit code and what it printed.
std::pair<int, std::string> runChronus(const std::vector<std::string>& args, double timeoutS) {
    std::vector<std::string> argv = {CHRONUS_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = tempPath("dump_replay", ".log");
    const pid_t pid = spawnProcess(argv, log);
    REQUIRE(pid > 0);
    const int rc = waitExit(pid, timeoutS);
    std::string out = readText(log);
    std::remove(log.c_str());
    return {rc, out};
}

std::vector<float> readSamples(const std::string& path) {
    auto wav = readWav(path);
    REQUIRE(wav.ok());
    REQUIRE(wav->channels == 1);
    return std::move(wav->samples);
}

} // namespace

TEST_CASE("a dump writes what a person would: creation arguments, choices by name, gates, and "
          "a commit at the end",
          "[dump]") {
    OfflineRig rig;
    const std::string dump = dumpAfter(kPatch, 0.1, rig);
    INFO(dump);
    CHECK_THAT(dump, Catch::Contains("/patch/create d1 delay 500\n"));
    CHECK_THAT(dump, Catch::Contains("/patch/create m mix 3\n"));
    CHECK_THAT(dump, Catch::Contains("/mod/filt1/mode bp\n"));
    CHECK_THAT(dump, Catch::Contains("/mod/lfo1/shape triangle\n"));
    CHECK_THAT(dump, Catch::Contains("/gate/env1 1\n"));
    CHECK_THAT(dump, Catch::EndsWith("/patch/commit\n"));
}

TEST_CASE("a patch set up at time 0 and its dump render the same samples", "[dump]") {
    OfflineRig rig;
    const std::string dump = dumpAfter(kPatch, 0.1, rig);
    const auto original = render(kPatch, 1.0), replayed = render(dump, 1.0);
    CHECK(original == replayed);
}

TEST_CASE("a playing patch's dump renders as the patch went on sounding", "[dump]") {
    // A session: commits, then changes of parameters, a choice and the gate while it plays.
    OfflineRig rig;
    rig.apply(kPatch);
    rig.renderSeconds(0.4);
    rig.apply("/patch/create osc2 simple_sine\n/mod/osc2/freq 550\n/mod/osc2/gain 0.05\n"
              "/patch/connect osc2 m:in3\n/patch/commit\n");
    rig.renderSeconds(0.3);
    rig.apply("/mod/filt1/mode lp\n/mod/filt1/cutoff 1200\n/mod/osc1/freq 392\n"
              "/mod/lfo1/shape sine\n/gate/env1 0\n");
    rig.renderSeconds(0.1);
    rig.apply("/gate/env1 1\n/mod/saw1/freq 103\n");
    rig.renderSeconds(0.5);
    const std::string dump = rig.engine->dump();
    INFO(dump);
    // What played on after the dump, against the dump rendered from rest; both settled (the
    // envelope's attack and decay, the delay line refilled) and one second long.
    const size_t at = rig.position();
    rig.renderSeconds(1.5);
    const auto live = rig.slice(at + size_t(0.5 * kRate), at + size_t(1.5 * kRate));
    const auto replayed = slice(render(dump, 1.5), 0.5, 1.5);
    checkAlike(live, replayed, {392, 550, 103, 206, 309});
}

TEST_CASE("serve --state's file renders, and serve --patch plays it, as the patch sounded",
          "[dump][state][serve]") {
    // serve plays a patch with timed changes and keeps its state file; render the file.
    const std::string patch = tempPath("dump_replay_in", ".patch");
    const std::string state = tempPath("dump_replay_state", ".patch");
    const std::string wav = tempPath("dump_replay_live", ".wav");
    const std::string replayWav = tempPath("dump_replay_render", ".wav");
    const std::string servedWav = tempPath("dump_replay_served", ".wav");
    std::remove(state.c_str());
    std::ofstream(patch) << kPatch << "@0.3 /mod/filt1/mode lp\n@0.4 /mod/osc1/freq 392\n"
                         << "@0.5 /mod/saw1/freq 103\n";
    auto [rc, log] =
        runChronus({"serve", "--device", "null", "--no-osc", "--engine", "interp", "--patch", patch,
                    "--state", state, "--record", wav, "--seconds", "2.5"},
                   60);
    INFO(log);
    REQUIRE(rc == 0);
    const std::string saved = readText(state);
    INFO(saved);
    CHECK_THAT(saved, !Catch::Contains("/mod/filt1/mode")); // back to lp, the default
    CHECK_THAT(saved, Catch::Contains("/mod/osc1/freq 392\n"));
    CHECK_THAT(saved, Catch::EndsWith("/patch/commit\n"));
    const auto live = readSamples(wav);
    REQUIRE(live.size() > size_t(2.2 * kRate));
    const auto liveTail =
        slice(live, double(live.size()) / kRate - 1.0, double(live.size()) / kRate);

    auto [renderRc, renderLog] =
        runChronus({"render", state, "-o", replayWav, "-s", "1.5"}, 120); // render's defaults
    INFO(renderLog);
    REQUIRE(renderRc == 0);
    CHECK_THAT(renderLog, !Catch::Contains("warning"));
    checkAlike(liveTail, slice(readSamples(replayWav), 0.5, 1.5), {392, 103, 206, 309});

    auto [serveRc, serveLog] =
        runChronus({"serve", "--device", "null", "--no-osc", "--engine", "interp", "--patch", state,
                    "--record", servedWav, "--seconds", "1.6"},
                   60);
    INFO(serveLog);
    REQUIRE(serveRc == 0);
    const auto served = readSamples(servedWav);
    REQUIRE(served.size() > size_t(1.5 * kRate));
    checkAlike(liveTail, slice(served, 0.5, 1.5), {392, 103, 206, 309});
    for (const auto& f : {patch, state, wav, replayWav, servedWav}) std::remove(f.c_str());
}

TEST_CASE("chronus render warns about a file that never commits and lines past the end",
          "[dump][cli]") {
    const std::string patch = tempPath("dump_replay_warn", ".patch");
    const std::string wav = tempPath("dump_replay_warn", ".wav");
    auto renderText = [&](const std::string& text) {
        std::ofstream(patch) << text;
        return runChronus({"render", patch, "-o", wav, "-s", "1"}, 60);
    };
    {
        auto [rc, log] = renderText("/patch/create osc1 simple_sine\n");
        CHECK(rc == 0);
        CHECK_THAT(log, Catch::Contains("has no /patch/commit"));
    }
    {
        auto [rc, log] = renderText("/patch/create osc1 simple_sine\n/patch/commit\n"
                                    "@0.5 /mod/osc1/freq 330\n@1 /mod/osc1/freq 220\n"
                                    "@2.5 /mod/osc1/freq 110\n");
        CHECK(rc == 0);
        CHECK_THAT(log, Catch::Contains(patch + ":4: @1 falls after the end of the render (1 s)"));
        CHECK_THAT(log, Catch::Contains("and 1 more line after it"));
        CHECK_THAT(log, !Catch::Contains("has no /patch/commit"));
    }
    {
        auto [rc, log] = renderText("/patch/create osc1 simple_sine\n/patch/commit\n"
                                    "@0.5 /mod/osc1/freq 330\n");
        CHECK(rc == 0);
        CHECK_THAT(log, !Catch::Contains("warning"));
    }
    std::remove(patch.c_str());
    std::remove(wav.c_str());
}
