// The patch player: one rule for every patch file (file order, `@t` from the start, times never go
// back, the whole file checked before any of it plays), on the offline clock (each line at its
// exact sample) and the live clock (writes handed ahead, landing on their sample), and every entry
// point (render, serve --patch, serve --state, ir, bench) refusing a bad file with the same text.
#include "runtime/backend.h"
#include "runtime/offline_render.h"
#include "runtime/patch_dry_run.h"
#include "runtime/patch_player.h"
#include "runtime/patch_state.h"
#include "runtime/recorder.h"
#include "runtime/wav_file.h"
#include "tests/test_engine_harness.h"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <thread>

using namespace chronus;
using namespace chronus::test;

namespace {

PatchScript script(const std::string& text, const std::string& source = "test.patch") {
    auto lines = parsePatchText(text, source);
    REQUIRE(lines.ok());
    auto s = checkPatch(*lines, source);
    INFO((s.ok() ? std::string() : s.error().message));
    REQUIRE(s.ok());
    return s.take();
}

std::string refusal(const std::string& text) {
    auto lines = parsePatchText(text, "f.patch");
    REQUIRE(lines.ok());
    auto s = checkPatch(*lines, "f.patch");
    REQUIRE_FALSE(s.ok());
    return s.error().message;
}

/// What `chronus render` did before the player (the loop each of the seven places had its own copy
/// of): render to each line's sample, then apply it; a commit waits for its compile.
std::vector<float> renderAsBefore(const std::vector<PatchLine>& lines, double seconds,
                                  ProgramFactory factory) {
    EngineOptions eo;
    eo.factory = std::move(factory);
    // As many channels as the render makes of the patch (a stereo example renders two).
    auto script = checkPatch(lines);
    REQUIRE(script.ok());
    BackendOptions bo;
    bo.channels = patchChannels(*script);
    OfflineRig rig(eo, bo);
    const auto total = static_cast<uint64_t>(std::llround(seconds * rig.rate()));
    double time = 0;
    for (const PatchLine& line : lines) {
        if (line.time) time = *line.time;
        const auto due = static_cast<uint64_t>(std::llround(time * rig.rate()));
        if (due > rig.position()) rig.render(std::min(due, total) - rig.position());
        auto cmd = decodeCommand(line.address, line.args);
        REQUIRE(cmd.ok());
        if (std::holds_alternative<CommitCommand>(*cmd)) {
            REQUIRE(rig.commit().ok);
        } else if (commandKind(*cmd) != CommandKind::query &&
                   commandKind(*cmd) != CommandKind::quit) {
            REQUIRE(rig.engine->apply(*cmd).ok());
        }
    }
    rig.render(total - rig.position());
    return rig.out;
}

std::vector<std::filesystem::path> examplePatches() {
    std::vector<std::filesystem::path> paths;
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(CHRONUS_SOURCE_DIR) + "/examples"))
        if (e.path().extension() == ".patch") paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    REQUIRE(paths.size() >= 7);
    return paths;
}

size_t firstDifference(const std::vector<float>& a, const std::vector<float>& b) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return i;
    return n;
}

/// Plays `s` on the live clock with the engine's blocks driven by hand: advance() before every
/// block, as serve's loop does (here once per block, so a line that must wait for its time is
/// at most a block late). With `settleCommits`, each commit the player starts is waited for, so
/// it swaps in at that block boundary.
std::vector<float> playLive(OfflineRig& rig, PatchScript s, double seconds, bool settleCommits,
                            double lookaheadSeconds = 0.5) {
    PatchPlayerOptions po;
    po.lookaheadSeconds = lookaheadSeconds;
    PatchPlayer player(*rig.engine, std::move(s), po);
    REQUIRE(player.start(0).ok());
    REQUIRE(rig.backend->waitForCommit(player.lastCommit(), 60'000));
    uint64_t settled = player.lastCommit();
    const auto total = static_cast<uint64_t>(std::llround(seconds * rig.rate()));
    while (rig.position() < total) {
        REQUIRE(player.advance(rig.position()).ok());
        if (settleCommits && player.lastCommit() != settled) {
            settled = player.lastCommit();
            REQUIRE(rig.backend->waitForCommit(settled, 60'000));
        }
        rig.render(std::min<uint64_t>(rig.frames(), total - rig.position()));
    }
    return rig.out;
}

} // namespace

// ---- the rule ---------------------------------------------------------------------------------

TEST_CASE("a patch file runs in file order, untimed lines at the time of the line before",
          "[player][rule]") {
    const PatchScript ok = script("/patch/create osc1 simple_sine\n"
                                  "/patch/commit\n"
                                  "@0.5 /mod/osc1/freq 220\n"
                                  "/mod/osc1/gain 0.1\n"
                                  "@0.5 /mod/osc1/freq 230\n"
                                  "@2 /patch/dump\n");
    REQUIRE(ok.steps.size() == 6);
    CHECK(ok.steps[0].time == 0);
    CHECK(ok.steps[1].time == 0);
    CHECK(ok.steps[2].time == 0.5);
    CHECK(ok.steps[3].time == 0.5); // the time of the line before it
    CHECK(ok.steps[4].time == 0.5); // the same time again is fine
    CHECK(ok.steps[5].line == 6);
    REQUIRE(ok.committed.has_value());
    CHECK(ok.committed->find("osc1") != nullptr);
}

TEST_CASE("a time earlier than a line before it refuses the file, naming both lines",
          "[player][rule][errors]") {
    CHECK(refusal("/patch/create osc1 simple_sine\n"
                  "@1 /mod/osc1/freq 300\n"
                  "# a comment\n"
                  "/mod/osc1/freq 310\n"
                  "@0.5 /mod/osc1/freq 200\n") ==
          "f.patch:5: @0.5 is earlier than @1 on line 2: lines run in file order, so a time may "
          "not go back");
}

TEST_CASE("every bad line is found before anything plays, as FILE:LINE: reason",
          "[player][rule][errors]") {
    const std::string head = "/patch/create osc1 simple_sine\n/patch/create f1 biquad_filter\n";
    CHECK_THAT(refusal(head + "/patch/create x no_such_type\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("unknown module type"));
    CHECK_THAT(refusal(head + "/patch/connect osc1 nowhere\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("nowhere"));
    CHECK_THAT(refusal(head + "/patch/connect osc1 f1:nope\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("nope"));
    CHECK_THAT(refusal(head + "/mod/osc1/frq 300\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("no parameter 'frq'"));
    CHECK_THAT(refusal(head + "/mod/f1/q 1e9\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("outside"));
    CHECK_THAT(refusal(head + "/mod/f1/mode sideways\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("no choice 'sideways'"));
    CHECK_THAT(refusal(head + "/patch/commit\n@3 /gate/ghost 1\n"),
               Catch::StartsWith("f.patch:4: ") && Catch::Contains("unknown module id 'ghost'"));
    CHECK_THAT(refusal(head + "/patch/wobble\n"),
               Catch::StartsWith("f.patch:3: ") && Catch::Contains("unknown address"));
    CHECK_THAT(refusal(head + "/patch/delete osc1\n/patch/abort\n/patch/abort\n/mod/osc1/freq 1\n"),
               Catch::StartsWith("f.patch:6: ")); // aborted back to nothing committed
    // Without a file name, as before: `line N: ...`.
    auto lines = parsePatchText("/mod/x/freq 1\n");
    REQUIRE(lines.ok());
    auto s = checkPatch(*lines);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::StartsWith("line 1: "));
}

TEST_CASE("the dry run refuses exactly what the engine refuses", "[player][rule]") {
    // A module deleted from the pending patch still plays until the commit: the engine takes
    // writes to it, and so does the dry run; after the commit neither does.
    const std::string text = "/patch/create osc1 simple_sine\n/patch/commit\n"
                             "/patch/delete osc1\n/mod/osc1/freq 300\n/patch/commit\n";
    const PatchScript s = script(text);
    CHECK(s.committed->find("osc1") == nullptr);
    CHECK_THAT(refusal(text + "/mod/osc1/freq 310\n"), Catch::StartsWith("f.patch:6: "));

    OfflineRig rig;
    auto lines = parsePatchText(text + "/mod/osc1/freq 310\n");
    REQUIRE(lines.ok());
    PatchDryRun dry;
    std::vector<int> refused;
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        REQUIRE(cmd.ok());
        INFO("line " << line.line);
        if (std::holds_alternative<CommitCommand>(*cmd)) {
            REQUIRE(rig.commit().ok);
            REQUIRE(dry.apply(*cmd).ok());
            continue;
        }
        const bool engineTakes = rig.engine->apply(*cmd).ok();
        CHECK(engineTakes == dry.apply(*cmd).ok());
        if (!engineTakes) refused.push_back(line.line);
    }
    CHECK(refused == std::vector<int>{6});
    // A choice by name resolves to the engine's value.
    const PatchScript c =
        script("/patch/create f1 biquad_filter\n/mod/f1/mode hp\n/patch/commit\n");
    PatchGraph direct;
    REQUIRE(direct.create("f1", "biquad_filter").ok());
    REQUIRE(direct.setParamChoice("f1", "mode", "hp").ok());
    CHECK(c.committed->toPatchText() == direct.toPatchText());
}

TEST_CASE("after an example plays, the engine holds the patch the dry run committed",
          "[player][rule][examples]") {
    for (const auto& path : examplePatches()) {
        INFO(path.filename().string());
        auto s = loadPatchFile(path.string());
        REQUIRE(s.ok());
        REQUIRE(s->committed.has_value());
        const std::string expected = s->committed->toPatchText();
        OfflineRig rig;
        PatchPlayer player(*rig.engine, s.take());
        REQUIRE(player.playOffline(*rig.backend, nullptr, 4800).ok());
        CHECK(player.finished());
        CHECK(rig.engine->dump() == expected);
    }
}

// ---- the offline clock ------------------------------------------------------------------------

TEST_CASE("the offline clock renders every example exactly as render did before the player",
          "[player][offline][examples]") {
    for (const auto& path : examplePatches()) {
        auto lines = readPatchFile(path.string());
        REQUIRE(lines.ok());
        for (const bool jit : {false, true}) {
            INFO(path.filename().string() << (jit ? ", jit" : ", interp"));
            OfflineRenderOptions o;
            o.seconds = 2.5;
            o.factory = jit ? defaultFactory() : interpreterFactory();
            auto now = renderPatch(*lines, o);
            REQUIRE(now.ok());
            const auto before = renderAsBefore(*lines, o.seconds, o.factory);
            REQUIRE(now->size() == before.size());
            CHECK(firstDifference(*now, before) == before.size());
        }
    }
}

TEST_CASE("the offline clock applies each line at its exact sample, off the block grid",
          "[player][offline]") {
    const std::string base = "/patch/create osc1 simple_sine\n/patch/commit\n";
    OfflineRenderOptions o;
    o.seconds = 0.2;
    o.factory = interpreterFactory();
    auto render = [&](const std::string& text) {
        auto lines = parsePatchText(text);
        REQUIRE(lines.ok());
        auto a = renderPatch(*lines, o);
        REQUIRE(a.ok());
        return a.take();
    };
    const auto plain = render(base);
    // @0.1003 s = sample 4814.4 -> 4814, inside the 19th 256-frame block.
    // (A gain shows in the sample it lands on; a frequency only from the next phase step.)
    const auto changed = render(base + "@0.1003 /mod/osc1/gain 0.1\n");
    CHECK(firstDifference(plain, changed) == 4814);

    // A commit's swap lands on its own sample.
    OfflineRig rig;
    PatchPlayer player(*rig.engine,
                       script(base + "@0.0501 /patch/create osc2 simple_sine\n/patch/commit\n"));
    std::vector<float> out(9600);
    REQUIRE(player.playOffline(*rig.backend, out.data(), out.size()).ok());
    const auto swaps = rig.engine->swapSamples(0);
    REQUIRE(swaps.size() == 2);
    CHECK(swaps[0].sample == 0);
    CHECK(swaps[1].sample == 2405); // round(0.0501 * 48000)
}

TEST_CASE("a failed commit fails an offline render, naming its file and line",
          "[player][offline][errors]") {
    auto lines = parsePatchText("/patch/create osc1 simple_sine\n/patch/commit\n", "x.patch");
    REQUIRE(lines.ok());
    OfflineRenderOptions o;
    o.seconds = 0.1;
    o.source = "x.patch";
    o.factory = [](const Schedule&) -> Expected<std::unique_ptr<Program>> {
        return makeError("no JIT today");
    };
    auto audio = renderPatch(*lines, o);
    REQUIRE_FALSE(audio.ok());
    CHECK(audio.error().message == "x.patch:2: commit failed: compile failed: no JIT today");
}

// ---- the live clock ---------------------------------------------------------------------------

TEST_CASE("on the live clock, writes land on the samples the offline clock puts them on",
          "[player][live]") {
    // The bass sequence: every line after its first commit is a timed /mod or /gate, handed to
    // the engine ahead of its time, so live and offline give the same samples.
    auto s = loadPatchFile(std::string(CHRONUS_SOURCE_DIR) + "/examples/bass_sequence.patch");
    REQUIRE(s.ok());
    OfflineRenderOptions o;
    o.seconds = 2.5;
    o.factory = interpreterFactory();
    auto offline = renderPatch(*s, o);
    REQUIRE(offline.ok());
    OfflineRig rig;
    const auto live = playLive(rig, s.take(), o.seconds, false);
    CHECK(firstDifference(*offline, live) == live.size());
}

TEST_CASE(
    "the live clock plays more timed writes than the engine's queue holds, each on its sample",
    "[player][live]") {
    // 6000 writes, one a millisecond: more than the 4096 timed events the engine queues. The
    // player hands them over half a second ahead at a time, so none is refused or late.
    std::string text = "/patch/create osc1 simple_sine\n/patch/commit\n";
    for (int k = 1; k <= 6000; ++k)
        text += fmt::format("@{:.3f} /mod/osc1/freq {}\n", k * 0.001, 200 + k % 300);
    const PatchScript s = script(text);
    OfflineRenderOptions o;
    o.seconds = 6.1;
    o.factory = interpreterFactory();
    auto offline = renderPatch(s, o);
    REQUIRE(offline.ok());
    OfflineRig rig;
    const auto live = playLive(rig, s, o.seconds, false);
    CHECK(firstDifference(*offline, live) == live.size());
}

TEST_CASE("on the live clock, an edit or commit applies within a block of its time, and the "
          "writes after it wait for it",
          "[player][live]") {
    const std::string good = "/patch/create osc1 simple_sine\n/patch/commit\n"
                             "@0.1003 /patch/create osc2 simple_sine\n"
                             "/patch/commit\n"
                             "@0.1100 /mod/osc2/gain 0.1\n"; // osc2 exists only from line 3 on
    OfflineRig rig;
    const auto live = playLive(rig, script(good), 0.2, true);
    const auto swaps = rig.engine->swapSamples(0);
    REQUIRE(swaps.size() == 2);
    const uint64_t due = 4814; // round(0.1003 * 48000)
    CHECK(swaps[1].sample >= due);
    CHECK(swaps[1].sample < due + rig.frames());
    // The osc2 write still lands on its own sample (0.11 s = 5280) although it had to wait for
    // the commit: compare with the same file without it. (A gain shows in the sample it lands on.)
    OfflineRig without;
    const auto plain = playLive(without, script(good.substr(0, good.rfind("@0.1100"))), 0.2, true);
    CHECK(firstDifference(plain, live) == 5280);
}

TEST_CASE("on the live clock with a real audio thread, writes land on their exact sample",
          "[player][live][null]") {
    // As serve plays a file: the null backend's clock-paced thread renders, the player looks
    // every 5 ms. Writes due within the lookahead (1 s here) at the start are handed over at once;
    // the one at 1.6 s when the player's clock passes 0.6 s, a second ahead, however loaded the
    // machine. The recording must be sample for sample what an offline engine renders with the
    // same first swap and the writes at their samples.
    const std::string wav = tempPath("player_live", ".wav");
    EngineOptions eo;
    eo.factory = interpreterFactory();
    auto engine = Engine::create(eo);
    REQUIRE(engine.ok());
    auto recorder = Recorder::create(wav, eo.sampleRate);
    REQUIRE(recorder.ok());
    BackendOptions bo;
    bo.recorder = recorder->get();
    auto backend = makeNullBackend(**engine, bo);
    REQUIRE(backend->start().ok());
    PatchPlayerOptions po;
    po.lookaheadSeconds = 1;
    PatchPlayer player(**engine,
                       script("/patch/create osc1 simple_sine\n/patch/commit\n"
                              "@0.2 /mod/osc1/gain 0.1\n@0.3001 /mod/osc1/freq 660\n"
                              "@1.6 /mod/osc1/gain 0.3\n"),
                       po);
    const uint64_t origin = (*engine)->status().samplePosition;
    REQUIRE(player.start(origin).ok());
    REQUIRE((*engine)->waitForCommit(player.lastCommit(), 60'000));
    const uint64_t end = origin + 48000 * 17 / 10;
    while ((*engine)->status().samplePosition < end) {
        REQUIRE(player.advance((*engine)->status().samplePosition).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(player.finished());
    backend->stop();
    REQUIRE((*recorder)->finish().ok());
    REQUIRE((*recorder)->droppedFrames() == 0);
    const auto swaps = (*engine)->swapSamples(0);
    REQUIRE(swaps.size() == 1);
    auto played = readWav(wav);
    REQUIRE(played.ok());
    std::remove(wav.c_str());

    OfflineRig rig;
    rig.render(swaps[0].sample);
    REQUIRE(rig.engine->create("osc1", "simple_sine").ok());
    REQUIRE(rig.commit().ok);
    const auto at = [&](double t) {
        return origin + static_cast<uint64_t>(std::llround(t * 48000));
    };
    REQUIRE(rig.engine->setParamAt(at(0.2), "osc1", "gain", 0.1f).ok());
    REQUIRE(rig.engine->setParamAt(at(0.3001), "osc1", "freq", 660).ok());
    REQUIRE(rig.engine->setParamAt(at(1.6), "osc1", "gain", 0.3f).ok());
    rig.render(played->samples.size() - rig.position());
    CHECK(firstDifference(played->samples, rig.out) == rig.out.size());
}

// ---- every entry point ------------------------------------------------------------------------

namespace {

struct Run {
    int rc = -1;
    std::string log;
};

Run runChronus(const std::vector<std::string>& args) {
    const std::string log = tempPath("player_cli", ".log");
    std::vector<std::string> argv{CHRONUS_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = spawnProcess(argv, log);
    REQUIRE(pid > 0);
    Run r;
    r.rc = waitExit(pid, 120);
    r.log = readText(log);
    std::remove(log.c_str());
    return r;
}

/// The error a command printed: its `chronus CMD: ` line, without that prefix.
std::string errorOf(const Run& r, const std::string& command) {
    const std::string prefix = "chronus " + command + ": ";
    const auto at = r.log.find(prefix);
    if (at == std::string::npos) return "(no error line in: " + r.log + ")";
    const auto end = r.log.find('\n', at);
    return r.log.substr(at + prefix.size(), end - at - prefix.size());
}

} // namespace

TEST_CASE("render, serve --patch, serve --state, ir and bench refuse a bad file alike, before "
          "any sound",
          "[player][cli][errors]") {
    const std::string dir = tempPath("player_files", "");
    std::filesystem::create_directories(dir);
    const std::string head = "/patch/create osc1 simple_sine\n/mod/osc1/gain 0.3\n"
                             "/patch/commit\n@1 /mod/osc1/freq 300\n";
    const std::vector<std::pair<std::string, std::string>> files = {
        {"backwards", head + "@0.5 /mod/osc1/freq 200\n"},
        {"bad_param", head + "@2 /mod/osc1/frq 200\n"},
        {"bad_value", head + "/mod/osc1/gain -7\n"}};
    for (const auto& [name, text] : files) {
        INFO(name);
        const std::string patch = dir + "/" + name + ".patch";
        const std::string state = dir + "/" + name + ".state";
        const std::string wav = dir + "/" + name + ".wav";
        std::ofstream(patch) << text;
        std::ofstream(state) << text;
        auto expected = checkPatch(*parsePatchText(text), patch);
        REQUIRE_FALSE(expected.ok());
        const std::string why = expected.error().message;

        const Run render = runChronus({"render", patch, "-o", wav, "-s", "0.2"});
        CHECK(render.rc != 0);
        CHECK(errorOf(render, "render") == why);
        CHECK_FALSE(std::filesystem::exists(wav));

        const Run serve = runChronus({"serve", "--device", "null", "--no-osc", "--seconds", "5",
                                      "--patch", patch, "--record", wav});
        CHECK(serve.rc != 0);
        CHECK(errorOf(serve, "serve") == why);
        CHECK_FALSE(std::filesystem::exists(wav)); // it never started playing
        CHECK_THAT(serve.log, !Catch::Contains("Ctrl-C"));

        const std::string statePath = state;
        auto stateWhy = checkPatch(*parsePatchText(text), statePath);
        const Run restore = runChronus(
            {"serve", "--device", "null", "--no-osc", "--seconds", "5", "--state", statePath});
        CHECK(restore.rc != 0);
        CHECK(errorOf(restore, "serve") == stateWhy.error().message);
        // ... then what it did with the file and how to start afresh.
        CHECK_THAT(restore.log, Catch::Contains(statePath + " does not restore whole, so it is "
                                                            "left as it is") &&
                                    Catch::Contains("--state-reset"));
        CHECK(readText(statePath) == text); // not overwritten

        const Run ir = runChronus({"ir", patch});
        CHECK(ir.rc != 0);
        CHECK(errorOf(ir, "ir") == why);

        const Run bench = runChronus({"bench", "--quick", "--patches-only", patch});
        CHECK(bench.rc != 0);
        CHECK(errorOf(bench, "bench") == why);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("serve --patch plays a good file through the player", "[player][cli][serve]") {
    const std::string dir = tempPath("player_serve", "");
    std::filesystem::create_directories(dir);
    const std::string patch = dir + "/p.patch", wav = dir + "/p.wav";
    std::ofstream(patch) << "/patch/create osc1 simple_sine\n"
                            "@0.3 /patch/create osc2 simple_sine\n/mod/osc2/freq 660\n"
                            "/patch/commit\n"
                            "@0.4 /patch/dump\n/engine/status\n";
    const Run serve = runChronus({"serve", "--device", "null", "--no-osc", "--seconds", "1",
                                  "--patch", patch, "--record", wav});
    INFO(serve.log);
    CHECK(serve.rc == 0);
    CHECK_THAT(serve.log, Catch::Contains("2 commits, 0 failed"));
    std::filesystem::remove_all(dir);
}
